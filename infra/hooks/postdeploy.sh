#!/usr/bin/env bash
# azd postdeploy hook: subscribes the Functions host's blob webhook to BlobCreated events of the images container.
#
# Why a hook and not Bicep: the webhook URL must carry the host's `blobs_extension` system key, and the host creates
# that key only once it has started with the blob trigger registered, i.e. after `azd deploy`.
#
# Every name comes from the azd environment (the Bicep outputs); nothing is hard-coded here.
#   postdeploy.sh            wait for the app, read the key, create or update the event subscription
#   postdeploy.sh --dry-run  print the az commands instead of running them (the key is shown as a placeholder)
set -euo pipefail

dry_run=false
case "${1:-}" in
  --dry-run) dry_run=true ;;
  "") ;;
  *)
    echo "usage: $0 [--dry-run]" >&2
    exit 2
    ;;
esac

missing=()
for name in AZURE_RESOURCE_GROUP RESNEST_HOSTING FUNCTION_APP_NAME FUNCTION_APP_HOSTNAME STORAGE_ACCOUNT_ID \
  EVENTGRID_SYSTEM_TOPIC_NAME IMAGES_CONTAINER DEAD_LETTER_CONTAINER BLOB_TRIGGER_FUNCTION_NAME; do
  if [ -z "${!name:-}" ]; then
    missing+=("$name")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "postdeploy: not set: ${missing[*]}" >&2
  echo "postdeploy: run it through azd, or first: set -a; eval \"\$(azd env get-values)\"; set +a" >&2
  exit 1
fi

subscription_name="${EVENTGRID_SUBSCRIPTION_NAME:-images-blob-created}"
# Event Grid retries a delivery the webhook did not accept (anything but 2xx) with exponential back-off until either
# limit is reached, then dead-letters the event. The blob webhook answers 202 once it has queued the blob: failures of
# the function itself are retried by the host (5 attempts, then webjobs-blobtrigger-poison), not by Event Grid.
max_delivery_attempts="${EVENTGRID_MAX_DELIVERY_ATTEMPTS:-30}"
event_ttl_minutes="${EVENTGRID_EVENT_TTL_MINUTES:-1440}"
wait_attempts="${POSTDEPLOY_WAIT_ATTEMPTS:-40}"
wait_seconds="${POSTDEPLOY_WAIT_SECONDS:-15}"
# The host's root page answers as soon as the Functions host runs, model or not (the model can be uploaded later).
wake_url="https://${FUNCTION_APP_HOSTNAME}${WAKE_PATH:-/}"
key_placeholder='<blobs_extension-key>'

show() {
  printf '%q ' "$@" | sed 's/ $//'
  echo
}

extension_command=()
case "$RESNEST_HOSTING" in
  gpu-t4 | gpu-a100)
    # `az containerapp function` lives in the containerapp extension. Installed up front: az's dynamic-install prompt
    # cannot be answered inside a hook.
    extension_command=(az extension add --name containerapp --upgrade --yes --only-show-errors)
    # Answers {"value": {"keys": [{"name": ..., "value": ...}]}} (the shape the extension's scenario test asserts).
    key_command=(az containerapp function keys list
      --resource-group "$AZURE_RESOURCE_GROUP" --name "$FUNCTION_APP_NAME" --key-type systemKey
      --query "value.keys[?name=='blobs_extension'] | [0].value"
      --output tsv)
    ;;
  cpu-flex)
    # Answers the host keys document: {"functionKeys": {...}, "masterKey": ..., "systemKeys": {name: value}}.
    key_command=(az functionapp keys list
      --resource-group "$AZURE_RESOURCE_GROUP" --name "$FUNCTION_APP_NAME"
      --query systemKeys.blobs_extension --output tsv)
    ;;
  *)
    echo "postdeploy: unknown RESNEST_HOSTING '$RESNEST_HOSTING' (gpu-t4, gpu-a100 or cpu-flex)" >&2
    exit 1
    ;;
esac

if [ ${#extension_command[@]} -gt 0 ]; then
  if $dry_run; then
    show "${extension_command[@]}"
  else
    "${extension_command[@]}"
  fi
fi

# Event Grid validates a new webhook within 30 seconds; a scaled-to-zero GPU replica can take longer to start,
# so wake the app first and wait until it answers.
wake_command=(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 60 "$wake_url")
if $dry_run; then
  show "${wake_command[@]}"
else
  for ((attempt = 1; attempt <= wait_attempts; attempt++)); do
    status=$("${wake_command[@]}" || true)
    case "$status" in
      2??) break ;;
    esac
    if [ "$attempt" -eq "$wait_attempts" ]; then
      echo "postdeploy: $wake_url still answers '$status'; check the app's logs (docs/deploy.md)" >&2
      exit 1
    fi
    echo "postdeploy: waiting for the app ($wake_url answered '$status', attempt $attempt/$wait_attempts)" >&2
    sleep "$wait_seconds"
  done
fi

if $dry_run; then
  show "${key_command[@]}"
  key="$key_placeholder"
else
  key=""
  for ((attempt = 1; attempt <= wait_attempts; attempt++)); do
    key=$("${key_command[@]}" 2>/dev/null || true)
    if [ -n "$key" ] && [ "$key" != "None" ] && [ "$key" != "null" ]; then
      break
    fi
    key=""
    echo "postdeploy: waiting for the host to create the blobs_extension key (attempt $attempt/$wait_attempts)" >&2
    sleep "$wait_seconds"
  done
  if [ -z "$key" ]; then
    echo "postdeploy: no blobs_extension key; is a blob trigger with Source = EventGrid deployed?" >&2
    exit 1
  fi
fi

endpoint="https://${FUNCTION_APP_HOSTNAME}/runtime/webhooks/blobs?functionName=Host.Functions.${BLOB_TRIGGER_FUNCTION_NAME}&code=${key}"
dead_letter_endpoint="${STORAGE_ACCOUNT_ID}/blobServices/default/containers/${DEAD_LETTER_CONTAINER}"

# Only completed writes: PutBlob/PutBlockList (uploads), CopyBlob (server-side copies), FlushWithClose (ADLS/NFS).
# The system topic's own identity writes dead letters (Bicep grants it the dead-letter container only).
subscribe_command=(az eventgrid system-topic event-subscription create
  --name "$subscription_name"
  --resource-group "$AZURE_RESOURCE_GROUP"
  --system-topic-name "$EVENTGRID_SYSTEM_TOPIC_NAME"
  --endpoint-type webhook
  --endpoint "$endpoint"
  --event-delivery-schema eventgridschema
  --included-event-types Microsoft.Storage.BlobCreated
  --subject-begins-with "/blobServices/default/containers/${IMAGES_CONTAINER}/"
  --advanced-filter data.api StringIn PutBlob PutBlockList CopyBlob FlushWithClose
  --max-delivery-attempts "$max_delivery_attempts"
  --event-ttl "$event_ttl_minutes"
  --deadletter-identity systemassigned
  --deadletter-identity-endpoint "$dead_letter_endpoint"
  --output none)

if $dry_run; then
  show "${subscribe_command[@]}"
else
  "${subscribe_command[@]}"
  echo "postdeploy: event subscription '$subscription_name' delivers BlobCreated for '${IMAGES_CONTAINER}' to ${FUNCTION_APP_NAME}"
fi
