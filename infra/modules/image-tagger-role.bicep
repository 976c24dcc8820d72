// A custom role is a subscription-level object; it is assignable only inside this deployment's resource group.
targetScope = 'subscription'

import { imageTaggerDataActions } from 'roles.bicep'

@description('Name (GUID) of the role definition, computed by the caller so assignments can reference it up front.')
param roleGuid string

@description('Resource id of the resource group the role may be assigned in.')
param resourceGroupId string

@description('Role name; unique in the tenant, so it carries the environment name.')
param roleName string

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: roleName
    description: 'Read uploaded images and write their blob index tags; nothing else.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroupId
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: imageTaggerDataActions
        notDataActions: []
      }
    ]
  }
}

output id string = role.id
