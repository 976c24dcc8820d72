// Lets the person who ran `azd up` upload images and models with `az storage blob upload --auth-mode login`.
import { builtInRoles } from 'roles.bicep'

@description('Object id of the user (or service principal) that deploys.')
param principalId string

@description('User or ServicePrincipal.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string

@description('Storage account with the images and models.')
param dataAccountName string

@description('Containers the user may write to.')
param containers string[]

resource dataAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: dataAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource containerRefs 'containers' existing = [
      for container in containers: {
        name: container
      }
    ]
  }
}

resource uploader 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containers: {
    scope: dataAccount::blobService::containerRefs[i]
    name: guid(dataAccount::blobService::containerRefs[i].id, principalId, builtInRoles.storageBlobDataContributor)
    properties: {
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        builtInRoles.storageBlobDataContributor
      )
      principalId: principalId
      principalType: principalType
    }
  }
]
