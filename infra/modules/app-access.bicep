// Data-plane access for the app's managed identity, each grant on the narrowest scope that works.
import { builtInRoles } from 'roles.bicep'

@description('Principal id of the app identity.')
param principalId string

@description('Name of the app identity; keys the assignment names, which must be known before deployment.')
param identityName string

@description('Storage account with the images, models, queues and tables.')
param dataAccountName string

@description('Storage account of the Functions host (AzureWebJobsStorage).')
param hostAccountName string

@description('Application Insights component the app publishes telemetry to.')
param appInsightsName string

@description('Resource id of the custom image tagger role.')
param imageTaggerRoleId string

@description('Images container: read blobs, write their index tags.')
param imagesContainer string

@description('Models container: read the ONNX model.')
param modelsContainer string

@description('Queues the app sends to and receives from (including the poison queue).')
param queues string[]

@description('Tables the app reads and writes.')
param tables string[]

resource dataAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: dataAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource images 'containers' existing = {
      name: imagesContainer
    }

    resource models 'containers' existing = {
      name: modelsContainer
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource queueRefs 'queues' existing = [
      for queue in queues: {
        name: queue
      }
    ]
  }

  resource tableService 'tableServices' existing = {
    name: 'default'

    resource tableRefs 'tables' existing = [
      for table in tables: {
        name: table
      }
    ]
  }
}

resource hostAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: hostAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource imagesTagger 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: dataAccount::blobService::images
  name: guid(dataAccount::blobService::images.id, identityName, imageTaggerRoleId)
  properties: {
    roleDefinitionId: imageTaggerRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource modelsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: dataAccount::blobService::models
  name: guid(dataAccount::blobService::models.id, identityName, builtInRoles.storageBlobDataReader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageBlobDataReader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queue, i) in queues: {
    scope: dataAccount::queueService::queueRefs[i]
    name: guid(dataAccount::queueService::queueRefs[i].id, identityName, builtInRoles.storageQueueDataContributor)
    properties: {
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        builtInRoles.storageQueueDataContributor
      )
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (table, i) in tables: {
    scope: dataAccount::tableService::tableRefs[i]
    name: guid(dataAccount::tableService::tableRefs[i].id, identityName, builtInRoles.storageTableDataContributor)
    properties: {
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        builtInRoles.storageTableDataContributor
      )
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// The Functions host keeps leases, keys and its internal queues in its own account: it needs the full data roles there.
var hostRoles = [
  builtInRoles.storageBlobDataOwner
  builtInRoles.storageQueueDataContributor
  builtInRoles.storageTableDataContributor
]

resource hostAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in hostRoles: {
    scope: hostAccount
    name: guid(hostAccount.id, identityName, role)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, identityName, builtInRoles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      builtInRoles.monitoringMetricsPublisher
    )
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
