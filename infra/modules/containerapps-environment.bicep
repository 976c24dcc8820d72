@description('Name of the Container Apps environment.')
param name string

@description('Region of the environment; it must offer the chosen serverless GPU.')
param location string

@description('Tags for the environment.')
param tags object

@description('Serverless GPU workload profile: name and workloadProfileType.')
param gpuProfile {
  name: string
  workloadProfileType: string
}

@description('Log Analytics workspace that receives the console and system logs.')
param logAnalyticsId string

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Logs go through a diagnostic setting (identity of the platform), not a workspace shared key.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfile.name
        workloadProfileType: gpuProfile.workloadProfileType
      }
    ]
    zoneRedundant: false
  }
}

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: environment
  name: 'logs-to-workspace'
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
