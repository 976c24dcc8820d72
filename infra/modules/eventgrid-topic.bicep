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

// Event Grid gives up on an event (dead-letters it, or drops it when dead-lettering itself fails) only after every
// retry: each one is a blob that was never classified. One alert per metric (criteria in one alert are ANDed); each
// fires on the first event, in the portal's Alerts view; attach an action group to be notified (docs/deploy.md).
var undeliveredMetrics = [
  'DeadLetteredCount'
  'DroppedEventCount'
]

resource undeliveredAlerts 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for metric in undeliveredMetrics: {
    name: '${name}-${toLower(metric)}'
    location: 'global'
    tags: tags
    properties: {
      description: 'BlobCreated events of the images container were not delivered (${metric}): see docs/deploy.md.'
      severity: 2
      enabled: true
      scopes: [
        topic.id
      ]
      evaluationFrequency: 'PT15M'
      windowSize: 'PT1H'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: metric
            metricNamespace: 'Microsoft.EventGrid/systemTopics'
            metricName: metric
            operator: 'GreaterThan'
            threshold: 0
            timeAggregation: 'Total'
          }
        ]
      }
      autoMitigate: true
    }
  }
]

output name string = topic.name
