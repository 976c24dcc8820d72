// The Functions app hosted natively on Azure Container Apps (kind 'functionapp'): the platform wires the
// Functions triggers into KEDA scale rules, so the GPU replicas scale to zero when nothing arrives.
@description('Name of the container app.')
param name string

@description('Region of the app.')
param location string

@description('Tags for the app (azd finds the service by azd-service-name).')
param tags object

@description('Container Apps environment with the GPU workload profile.')
param environmentId string

@description('Serverless GPU profile the app runs on, with the CPU and memory one replica takes.')
param gpuProfile {
  name: string
  cpu: string
  memory: string
}

@description('User-assigned identity for storage, registry and telemetry.')
param identityId string

@description('Registry login server the image is pulled from, with the identity.')
param registryServer string

@description('Image to run; empty before the first `azd deploy` (a public placeholder runs until then).')
param imageName string

@description('App settings, name to value.')
param appSettings object

@description('Port the container listens on (ASPNETCORE_URLS in appSettings); the same for the placeholder and the app.')
param targetPort int

@description('Minimum replicas; 0 lets the GPU scale to zero.')
@minValue(0)
param minReplicas int

@description('Maximum replicas.')
@minValue(1)
param maxReplicas int

// Until the first `azd deploy` a public Functions image runs; ASPNETCORE_URLS makes it listen on targetPort like the
// app's image, because `azd deploy` replaces only the image and keeps this ingress.
var placeholderImage = 'mcr.microsoft.com/azure-functions/dotnet8-quickstart-demo:1.0'
var image = empty(imageName) ? placeholderImage : imageName

resource app 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: gpuProfile.name
    configuration: {
      activeRevisionsMode: 'Single'
      // External ingress: HTTP API calls and the Event Grid webhook both arrive here.
      ingress: {
        external: true
        targetPort: targetPort
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'functions'
          image: image
          env: [
            for setting in items(appSettings): {
              name: setting.key
              value: setting.value
            }
          ]
          resources: {
            cpu: json(gpuProfile.cpu)
            memory: gpuProfile.memory
          }
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = app.name
output hostName string = app.properties.configuration.ingress.fqdn
