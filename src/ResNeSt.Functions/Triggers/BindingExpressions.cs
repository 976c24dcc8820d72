namespace ResNeSt.Functions.Triggers;

/// <summary>
/// The <c>%name%</c> expressions of the trigger bindings. The Functions host resolves them in its own configuration,
/// where the app setting (environment variable) <c>Pipeline__ImagesContainer</c> is the key
/// <c>Pipeline:ImagesContainer</c>: an expression written with <c>__</c> never resolves there, and the host disables
/// the function at start-up. The keys are those of <c>infra/names.json</c>'s settings with <c>__</c> read as <c>:</c>
/// (FunctionMetadataTests and the settings contract test hold them to it).
/// </summary>
public static class BindingExpressions
{
    public const string ImagesContainer = "%Pipeline:ImagesContainer%";

    public const string ClassifyQueue = "%Pipeline:ClassifyQueue%";

    public const string ClassifyPoisonQueue = ClassifyQueue + "-poison";

    /// <summary>
    /// Where the host moves a blob-trigger event after its fifth failed attempt (the blobs extension's fixed name, in
    /// the trigger connection's account). Not an expression: the host writes to this name whatever the settings say.
    /// </summary>
    public const string BlobTriggerPoisonQueue = "webjobs-blobtrigger-poison";
}
