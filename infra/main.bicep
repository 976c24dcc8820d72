// ResNeSt image classification on Azure Functions: GPU workers on Azure Container Apps (serverless GPU, scale to
// zero) or CPU workers on Flex Consumption. Every storage and setting name comes from names.json, the file the app
// embeds, so the templates and the code cannot drift apart.
targetScope = 'subscription'

metadata description = 'ResNeSt image classification pipeline: storage, identity, monitoring, registry, Functions host and Event Grid system topic.'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. Serverless GPUs are offered only in some regions (see docs/deploy.md).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Where the functions run: a serverless T4 or A100 GPU on Container Apps, or CPU on Flex Consumption.')
@allowed([
  'gpu-t4'
  'gpu-a100'
  'cpu-flex'
])
param hosting string = 'gpu-t4'

@description('Container image of the Functions app (GPU hosting); azd sets it after the first deploy.')
param functionsImageName string = ''

@description('Blob name of the ONNX model in the models container.')
param modelBlobName string = 'resnest50.onnx'

@description('Expected SHA-256 of the model (hex); empty: not checked.')
param modelSha256 string = ''

@description('Minimum replicas of the GPU app; 0 scales to zero when idle.')
@minValue(0)
param minReplicas int = 0

@description('Maximum replicas (GPU) or instances (Flex).')
@minValue(1)
param maxReplicas int = 4

@description('True: Application Insights accepts only Entra ID-authenticated telemetry (the app and the host send it with the identity).')
param appInsightsDisableLocalAuth bool = true

@description('Execution provider on the GPU hostings: cuda fails loudly (health 503 with a code) when the GPU cannot be used; auto falls back to CPU. See docs/deploy.md.')
@allowed([
  'cuda'
  'auto'
])
param gpuExecutionProvider string = 'cuda'

@description('off: skip the check that a GPU hosting goes to a region with serverless GPUs (for regions added after this template).')
@allowed([
  'on'
  'off'
])
param gpuRegionCheck string = 'on'

@description('Object id of the deploying user; gets write access to the images and models containers. Empty: none.')
param principalId string = ''

@description('Type of that principal.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

var names = loadJsonContent('names.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceTags = union(tags, {
  'azd-service-name': 'functions'
})
var isGpu = hosting != 'cpu-flex'

// Regions with serverless GPUs (Container Apps workload profiles overview, see docs/deploy.md). A GPU hosting
// elsewhere fails before anything is created instead of after the environment times out.
var serverlessGpuRegions = [
  'westus3'
  'australiaeast'
  'swedencentral'
]
var checkedLocation = !isGpu || gpuRegionCheck == 'off' || contains(serverlessGpuRegions, toLower(location))
  ? location
  : fail('Serverless GPUs (${hosting}) are not offered in ${location}; use one of ${join(serverlessGpuRegions, ', ')}, RESNEST_HOSTING=cpu-flex, or RESNEST_GPU_REGION_CHECK=off (docs/deploy.md).')

// One entry per GPU hosting choice: the serverless GPU workload profile and what one replica gets of it.
var gpuProfiles = {
  'gpu-t4': {
    name: 'gpu-t4'
    workloadProfileType: 'Consumption-GPU-NC8as-T4'
    cpu: '8'
    memory: '56Gi'
  }
  'gpu-a100': {
    name: 'gpu-a100'
    workloadProfileType: 'Consumption-GPU-NC24-A100'
    cpu: '24'
    memory: '220Gi'
  }
}
// Safe access: ARM may evaluate a skipped module's parameters, and cpu-flex has no entry.
var gpuProfile = gpuProfiles[?hosting] ?? gpuProfiles['gpu-t4']

var identityName = 'id-${resourceToken}'
var appInsightsName = 'appi-${resourceToken}'
var dataAccountName = 'st${resourceToken}'
var hostAccountName = 'sthost${resourceToken}'
var functionAppName = 'func-${resourceToken}'
// Only Flex Consumption uses it: the deployment package lives next to the host's own state.
var deploymentContainer = 'app-package'
var poisonQueue = '${names.queues.classify}-poison'
// Fixed by the Functions blob extension: after five failed attempts it parks the blob's name here, in the
// account of the trigger's connection. Created up front so a queue-scoped role covers it.
var blobPoisonQueue = 'webjobs-blobtrigger-poison'
var appQueues = [
  names.queues.classify
  poisonQueue
  blobPoisonQueue
]
var storageSuffix = environment().suffixes.storage

resource rg 'Microsoft.Resources/resourceGroups@2025-03-01' = {
  name: 'rg-${environmentName}'
  location: checkedLocation
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    appInsightsName: appInsightsName
    location: location
    tags: tags
    disableLocalAuth: appInsightsDisableLocalAuth
  }
}

module dataStorage 'modules/storage-account.bicep' = {
  scope: rg
  params: {
    name: dataAccountName
    location: location
    tags: tags
    containers: [
      names.containers.images
      names.containers.models
      names.containers.deadLetter
    ]
    // The poison queues exist up front so that the queue-scoped roles below cover them.
    queues: appQueues
    tables: [
      names.tables.results
      names.tables.labelIndex
      names.tables.batchJobs
    ]
  }
}

module hostStorage 'modules/storage-account.bicep' = {
  scope: rg
  params: {
    name: hostAccountName
    location: location
    tags: tags
    containers: isGpu ? [] : [deploymentContainer]
  }
}

// Custom role id known before deployment, so the assignments below can be planned (and what-if'd) up front.
var imageTaggerRoleGuid = guid(subscription().id, rg.id, 'resnest-image-tagger')

module imageTaggerRole 'modules/image-tagger-role.bicep' = {
  params: {
    roleGuid: imageTaggerRoleGuid
    resourceGroupId: rg.id
    roleName: 'ResNeSt image tagger (${environmentName}, ${resourceToken})'
  }
}

module appAccess 'modules/app-access.bicep' = {
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    identityName: identityName
    dataAccountName: dataAccountName
    hostAccountName: hostAccountName
    appInsightsName: appInsightsName
    imageTaggerRoleId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', imageTaggerRoleGuid)
    imagesContainer: names.containers.images
    modelsContainer: names.containers.models
    queues: appQueues
    tables: [
      names.tables.results
      names.tables.labelIndex
      names.tables.batchJobs
    ]
  }
  dependsOn: [
    dataStorage
    hostStorage
    monitoring
    imageTaggerRole
  ]
}

module userAccess 'modules/user-access.bicep' = if (!empty(principalId)) {
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    dataAccountName: dataAccountName
    containers: [
      names.containers.images
      names.containers.models
    ]
  }
  dependsOn: [
    dataStorage
  ]
}

module eventGridTopic 'modules/eventgrid-topic.bicep' = {
  scope: rg
  params: {
    name: 'evgt-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: dataAccountName
    deadLetterContainer: names.containers.deadLetter
  }
  dependsOn: [
    dataStorage
  ]
}

// Identity-based connections only: the Functions host and the app's clients authenticate as the user-assigned
// identity; no setting holds an account key or SAS.
var connectionSettings = {
  AzureWebJobsStorage__blobServiceUri: 'https://${hostAccountName}.blob.${storageSuffix}'
  AzureWebJobsStorage__queueServiceUri: 'https://${hostAccountName}.queue.${storageSuffix}'
  AzureWebJobsStorage__tableServiceUri: 'https://${hostAccountName}.table.${storageSuffix}'
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  '${names.connectionName}__blobServiceUri': 'https://${dataAccountName}.blob.${storageSuffix}'
  '${names.connectionName}__queueServiceUri': 'https://${dataAccountName}.queue.${storageSuffix}'
  '${names.connectionName}__tableServiceUri': 'https://${dataAccountName}.table.${storageSuffix}'
  '${names.connectionName}__credential': 'managedidentity'
  '${names.connectionName}__clientId': identity.outputs.clientId
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'
}

var pipelineSettings = union(
  {
    '${names.settings.imagesContainer}': names.containers.images
    '${names.settings.classifyQueue}': names.queues.classify
    '${names.settings.modelBlobName}': modelBlobName
    '${names.settings.executionProvider}': isGpu ? gpuExecutionProvider : 'cpu'
  },
  empty(modelSha256) ? {} : { '${names.settings.modelSha256}': modelSha256 }
)

// The port both the placeholder image (first provision) and the app's image listen on: ingress targets it, and
// `azd deploy` only swaps the image, never the ingress.
var containerPort = 8080

// Container Apps only. Flex Consumption takes the worker runtime from functionAppConfig and rejects it as a setting,
// and manages its own keys and host id.
var containerOnlySettings = {
  FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
  ASPNETCORE_URLS: 'http://+:${containerPort}'
  // Keys live in the host storage account (blob `azure-webjobs-secrets/<host id>/`), not in the replica's
  // ephemeral file system, and the host id does not change with the replica or revision: the blobs_extension key
  // in the Event Grid subscription's URL stays valid across restarts, scale from zero and new revisions.
  AzureWebJobsSecretStorageType: 'blob'
  AzureFunctionsWebHost__hostid: functionAppName
}

module registry 'modules/registry.bicep' = if (isGpu) {
  scope: rg
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
    pullerPrincipalId: identity.outputs.principalId
    pullerIdentityName: identityName
  }
}

module containerAppsEnvironment 'modules/containerapps-environment.bicep' = if (isGpu) {
  scope: rg
  params: {
    name: 'cae-${resourceToken}'
    location: location
    tags: tags
    gpuProfile: {
      name: gpuProfile.name
      workloadProfileType: gpuProfile.workloadProfileType
    }
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module gpuApp 'modules/function-containerapp.bicep' = if (isGpu) {
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: serviceTags
    environmentId: containerAppsEnvironment!.outputs.id
    gpuProfile: {
      name: gpuProfile.name
      cpu: gpuProfile.cpu
      memory: gpuProfile.memory
    }
    identityId: identity.outputs.id
    registryServer: registry!.outputs.loginServer
    imageName: functionsImageName
    appSettings: union(connectionSettings, pipelineSettings, containerOnlySettings)
    targetPort: containerPort
    minReplicas: minReplicas
    maxReplicas: maxReplicas
  }
  dependsOn: [
    appAccess
  ]
}

module flexApp 'modules/function-flex.bicep' = if (!isGpu) {
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    appTags: serviceTags
    identityId: identity.outputs.id
    deploymentContainerUrl: 'https://${hostAccountName}.blob.${storageSuffix}/${deploymentContainer}'
    appSettings: union(connectionSettings, pipelineSettings)
    maximumInstanceCount: maxReplicas
    instanceMemoryMB: 4096
  }
  dependsOn: [
    appAccess
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output RESNEST_HOSTING string = hosting
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = isGpu ? registry!.outputs.loginServer : ''
output AZURE_CONTAINER_REGISTRY_NAME string = isGpu ? registry!.outputs.name : ''
output FUNCTION_APP_NAME string = functionAppName
output FUNCTION_APP_HOSTNAME string = isGpu ? gpuApp!.outputs.hostName : flexApp!.outputs.hostName
output AZURE_CLIENT_ID string = identity.outputs.clientId
output STORAGE_ACCOUNT_NAME string = dataStorage.outputs.name
output STORAGE_ACCOUNT_ID string = dataStorage.outputs.id
output HOST_STORAGE_ACCOUNT_NAME string = hostStorage.outputs.name
output IMAGES_CONTAINER string = names.containers.images
output MODELS_CONTAINER string = names.containers.models
output DEAD_LETTER_CONTAINER string = names.containers.deadLetter
output CLASSIFY_QUEUE string = names.queues.classify
output MODEL_BLOB_NAME string = modelBlobName
output BLOB_TRIGGER_FUNCTION_NAME string = names.functions.blobTrigger
output EVENTGRID_SYSTEM_TOPIC_NAME string = eventGridTopic.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
