#!/usr/bin/env pwsh
# azd postdeploy hook (Windows, or anywhere with PowerShell 7): the twin of postdeploy.sh, same commands and checks.
# Subscribes the Functions host's blob webhook to BlobCreated events of the images container.
#
# Why a hook and not Bicep: the webhook URL must carry the host's `blobs_extension` system key, and the host creates
# that key only once it has started with the blob trigger registered, i.e. after `azd deploy`.
#
# Every name comes from the azd environment (the Bicep outputs); nothing is hard-coded here.
#   postdeploy.ps1           wait for the app, read the key, create or update the event subscription
#   postdeploy.ps1 -DryRun   print the az commands instead of running them (the key is shown as a placeholder)
[CmdletBinding()]
param([switch] $DryRun)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$PSNativeCommandUseErrorActionPreference = $false

$required = 'AZURE_RESOURCE_GROUP', 'RESNEST_HOSTING', 'FUNCTION_APP_NAME', 'FUNCTION_APP_HOSTNAME', 'STORAGE_ACCOUNT_ID',
  'EVENTGRID_SYSTEM_TOPIC_NAME', 'IMAGES_CONTAINER', 'DEAD_LETTER_CONTAINER', 'BLOB_TRIGGER_FUNCTION_NAME'
$missing = @($required | Where-Object { [string]::IsNullOrEmpty([Environment]::GetEnvironmentVariable($_)) })
if ($missing.Count -gt 0) {
  [Console]::Error.WriteLine("postdeploy: not set: $($missing -join ' ')")
  [Console]::Error.WriteLine('postdeploy: run it through azd, or first set the values of `azd env get-values` in this session')
  exit 1
}

function Setting([string] $name, [string] $default) {
  $value = [Environment]::GetEnvironmentVariable($name)
  if ([string]::IsNullOrEmpty($value)) { $default } else { $value }
}

$subscriptionName = Setting 'EVENTGRID_SUBSCRIPTION_NAME' 'images-blob-created'
# Event Grid retries a delivery the webhook did not accept (anything but 2xx) with exponential back-off until either
# limit is reached, then dead-letters the event. The blob webhook answers 202 once it has queued the blob: failures of
# the function itself are retried by the host (5 attempts, then webjobs-blobtrigger-poison), not by Event Grid.
$maxDeliveryAttempts = Setting 'EVENTGRID_MAX_DELIVERY_ATTEMPTS' '30'
$eventTtlMinutes = Setting 'EVENTGRID_EVENT_TTL_MINUTES' '1440'
$waitAttempts = [int](Setting 'POSTDEPLOY_WAIT_ATTEMPTS' '40')
$waitSeconds = [int](Setting 'POSTDEPLOY_WAIT_SECONDS' '15')
$hostName = $env:FUNCTION_APP_HOSTNAME
# The host's root page answers as soon as the Functions host runs, model or not (the model can be uploaded later).
$wakeUrl = "https://$hostName$(Setting 'WAKE_PATH' '/')"
$keyPlaceholder = '<blobs_extension-key>'

# Prints a command so that both PowerShell and POSIX shells read it back word for word (single-quoted when needed).
function Show([string[]] $words) {
  $quoted = foreach ($word in $words) {
    if ($word -match '^[A-Za-z0-9_./:=@%+,-]+$') { $word } else { "'" + ($word -replace "'", "'\''") + "'" }
  }
  [Console]::Out.WriteLine(($quoted -join ' '))
}

function Invoke([string[]] $words) {
  $rest = if ($words.Count -gt 1) { $words[1..($words.Count - 1)] } else { @() }
  & $words[0] @rest
}

$extensionCommand = @()
switch ($env:RESNEST_HOSTING) {
  { $_ -in 'gpu-t4', 'gpu-a100' } {
    # `az containerapp function` lives in the containerapp extension. Installed up front: az's dynamic-install prompt
    # cannot be answered inside a hook.
    $extensionCommand = @('az', 'extension', 'add', '--name', 'containerapp', '--upgrade', '--yes', '--only-show-errors')
    # Answers {"value": {"keys": [{"name": ..., "value": ...}]}} (the shape the extension's scenario test asserts).
    $keyCommand = @('az', 'containerapp', 'function', 'keys', 'list',
      '--resource-group', $env:AZURE_RESOURCE_GROUP, '--name', $env:FUNCTION_APP_NAME, '--key-type', 'systemKey',
      '--query', "value.keys[?name=='blobs_extension'] | [0].value",
      '--output', 'tsv')
  }
  'cpu-flex' {
    # Answers the host keys document: {"functionKeys": {...}, "masterKey": ..., "systemKeys": {name: value}}.
    $keyCommand = @('az', 'functionapp', 'keys', 'list',
      '--resource-group', $env:AZURE_RESOURCE_GROUP, '--name', $env:FUNCTION_APP_NAME,
      '--query', 'systemKeys.blobs_extension', '--output', 'tsv')
  }
  default {
    [Console]::Error.WriteLine("postdeploy: unknown RESNEST_HOSTING '$($env:RESNEST_HOSTING)' (gpu-t4, gpu-a100 or cpu-flex)")
    exit 1
  }
}

if ($extensionCommand.Count -gt 0) {
  if ($DryRun) {
    Show $extensionCommand
  }
  else {
    Invoke $extensionCommand
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
  }
}

# Event Grid validates a new webhook within 30 seconds; a scaled-to-zero GPU replica can take longer to start,
# so wake the app first and wait until it answers.
$wakeCommand = @('curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '60', $wakeUrl)
if ($DryRun) {
  Show $wakeCommand
}
else {
  for ($attempt = 1; $attempt -le $waitAttempts; $attempt++) {
    $status = "$(Invoke $wakeCommand 2>$null)"
    if ($status -match '^2\d\d$') { break }
    if ($attempt -eq $waitAttempts) {
      [Console]::Error.WriteLine("postdeploy: $wakeUrl still answers '$status'; check the app's logs (docs/deploy.md)")
      exit 1
    }
    [Console]::Error.WriteLine("postdeploy: waiting for the app ($wakeUrl answered '$status', attempt $attempt/$waitAttempts)")
    Start-Sleep -Seconds $waitSeconds
  }
}

if ($DryRun) {
  Show $keyCommand
  $key = $keyPlaceholder
}
else {
  $key = ''
  for ($attempt = 1; $attempt -le $waitAttempts; $attempt++) {
    $key = "$(Invoke $keyCommand 2>$null)".Trim()
    if ($LASTEXITCODE -eq 0 -and $key -and $key -ne 'None' -and $key -ne 'null') { break }
    $key = ''
    [Console]::Error.WriteLine("postdeploy: waiting for the host to create the blobs_extension key (attempt $attempt/$waitAttempts)")
    Start-Sleep -Seconds $waitSeconds
  }
  if (-not $key) {
    [Console]::Error.WriteLine('postdeploy: no blobs_extension key; is a blob trigger with Source = EventGrid deployed?')
    exit 1
  }
}

$endpoint = "https://$hostName/runtime/webhooks/blobs?functionName=Host.Functions.$($env:BLOB_TRIGGER_FUNCTION_NAME)&code=$key"
$deadLetterEndpoint = "$($env:STORAGE_ACCOUNT_ID)/blobServices/default/containers/$($env:DEAD_LETTER_CONTAINER)"

# Only completed writes: PutBlob/PutBlockList (uploads), CopyBlob (server-side copies), FlushWithClose (ADLS/NFS).
# The system topic's own identity writes dead letters (Bicep grants it the dead-letter container only).
$subscribeCommand = @('az', 'eventgrid', 'system-topic', 'event-subscription', 'create',
  '--name', $subscriptionName,
  '--resource-group', $env:AZURE_RESOURCE_GROUP,
  '--system-topic-name', $env:EVENTGRID_SYSTEM_TOPIC_NAME,
  '--endpoint-type', 'webhook',
  '--endpoint', $endpoint,
  '--event-delivery-schema', 'eventgridschema',
  '--included-event-types', 'Microsoft.Storage.BlobCreated',
  '--subject-begins-with', "/blobServices/default/containers/$($env:IMAGES_CONTAINER)/",
  '--advanced-filter', 'data.api', 'StringIn', 'PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose',
  '--max-delivery-attempts', $maxDeliveryAttempts,
  '--event-ttl', $eventTtlMinutes,
  '--deadletter-identity', 'systemassigned',
  '--deadletter-identity-endpoint', $deadLetterEndpoint,
  '--output', 'none')

if ($DryRun) {
  Show $subscribeCommand
}
else {
  Invoke $subscribeCommand
  if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
  [Console]::Out.WriteLine("postdeploy: event subscription '$subscriptionName' delivers BlobCreated for '$($env:IMAGES_CONTAINER)' to $($env:FUNCTION_APP_NAME)")
}
