import { builtInRoles } from 'roles.bicep'

@description('Name of the container registry (alphanumeric).')
param name string

@description('Region of the registry.')
param location string

@description('Tags for the registry.')
param tags object

@description('Principal id of the identity that pulls images.')
param pullerPrincipalId string

@description('Name of that identity; keys the assignment name.')
param pullerIdentityName string

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, pullerIdentityName, builtInRoles.acrPull)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.acrPull)
    principalId: pullerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
