// The system topic for the images account. Its event subscription is created after deployment by
// infra/hooks/postdeploy.sh, because the webhook URL carries the Functions host's blobs_extension key,
// which exists only once the app has started.
import { builtInRoles } from 'roles.bicep'

@description('Name of the system topic.')
param name string

@description('Region of the topic (the storage account\'s region).')
param location string

@description('Tags for the topic.')
param tags object

@description('Storage account whose blob events are published.')
param storageAccountName string

@description('Container that receives undeliverable events.')
param deadLetterContainer string

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetter 'containers' existing = {
      name: deadLetterContainer
    }
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  // Dead-lettering authenticates as the topic itself, so no storage key or SAS is involved.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account::blobService::deadLetter
  name: guid(account::blobService::deadLetter.id, topic.id, builtInRoles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      builtInRoles.storageBlobDataContributor
    )
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = topic.name
