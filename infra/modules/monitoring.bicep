@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Region of the resources.')
param location string

@description('Tags for the resources.')
param tags object

@description('True: Application Insights accepts only Entra ID-authenticated telemetry (the app then needs APPLICATIONINSIGHTS_AUTHENTICATION_STRING and a credential in its exporter).')
param disableLocalAuth bool

resource logs 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: disableLocalAuth
  }
}

output logAnalyticsId string = logs.id
output appInsightsName string = appInsights.name
// Not a storage key: it names the ingestion endpoint and instrumentation key, which is Azure's documented way to
// point the Functions host at Application Insights.
output appInsightsConnectionString string = appInsights.properties.ConnectionString
