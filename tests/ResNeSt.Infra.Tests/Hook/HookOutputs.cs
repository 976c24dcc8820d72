using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Hook;

/// <summary>The azd environment values the hook reads, as main.bicep's outputs would set them.</summary>
internal static class HookOutputs
{
    public static readonly string[] Required =
    [
        "AZURE_RESOURCE_GROUP", "RESNEST_HOSTING", "FUNCTION_APP_NAME", "FUNCTION_APP_HOSTNAME", "STORAGE_ACCOUNT_ID",
        "EVENTGRID_SYSTEM_TOPIC_NAME", "IMAGES_CONTAINER", "DEAD_LETTER_CONTAINER", "BLOB_TRIGGER_FUNCTION_NAME",
    ];

    public const string ResourceGroup = "rg-hooktest";
    public const string AppName = "func-hooktest";
    public const string HostName = "func-hooktest.kindhill-1234.swedencentral.azurecontainerapps.io";
    public const string TopicName = "evgt-hooktest";
    public const string StorageId =
        "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg-hooktest/providers/Microsoft.Storage/storageAccounts/sthooktest";

    public static Dictionary<string, string> For(string hosting) => new(StringComparer.Ordinal)
    {
        ["AZURE_RESOURCE_GROUP"] = ResourceGroup,
        ["RESNEST_HOSTING"] = hosting,
        ["FUNCTION_APP_NAME"] = AppName,
        ["FUNCTION_APP_HOSTNAME"] = HostName,
        ["STORAGE_ACCOUNT_ID"] = StorageId,
        ["EVENTGRID_SYSTEM_TOPIC_NAME"] = TopicName,
        ["IMAGES_CONTAINER"] = Repository.Name("containers.images"),
        ["DEAD_LETTER_CONTAINER"] = Repository.Name("containers.deadLetter"),
        ["BLOB_TRIGGER_FUNCTION_NAME"] = Repository.Name("functions.blobTrigger"),
    };

    /// <summary>The one az call that changes Azure: the event subscription, with its filters, retries and dead-lettering.</summary>
    public static string[] SubscribeCommand(string key) =>
    [
        "az", "eventgrid", "system-topic", "event-subscription", "create",
        "--name", "images-blob-created",
        "--resource-group", ResourceGroup,
        "--system-topic-name", TopicName,
        "--endpoint-type", "webhook",
        "--endpoint", $"https://{HostName}/runtime/webhooks/blobs?functionName=Host.Functions.{Repository.Name("functions.blobTrigger")}&code={key}",
        "--event-delivery-schema", "eventgridschema",
        "--included-event-types", "Microsoft.Storage.BlobCreated",
        "--subject-begins-with", $"/blobServices/default/containers/{Repository.Name("containers.images")}/",
        "--advanced-filter", "data.api", "StringIn", "PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose",
        "--max-delivery-attempts", "30",
        "--event-ttl", "1440",
        "--deadletter-identity", "systemassigned",
        "--deadletter-identity-endpoint", $"{StorageId}/blobServices/default/containers/{Repository.Name("containers.deadLetter")}",
        "--output", "none",
    ];
}
