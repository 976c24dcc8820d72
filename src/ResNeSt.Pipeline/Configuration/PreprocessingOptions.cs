using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Imaging;

namespace ResNeSt.Pipeline.Configuration;

/// <summary>How uploads are decoded before the model card's recipe runs (configuration section <c>Preprocessing</c>).</summary>
public sealed class PreprocessingOptions
{
    public const string SectionName = "Preprocessing";

    /// <summary>
    /// <c>Fast</c> (default: uploads are paid per image, and a phone photo decoded at 1/8 size costs a quarter of a
    /// full decode) or <c>Exact</c> (PIL + torchvision parity). App setting <c>Preprocessing__Decode</c>. The recipe
    /// itself is the model card's either way; docs/decoding.md has what <c>Fast</c> costs in agreement.
    /// </summary>
    [EnumDataType(typeof(DecodeMode), ErrorMessage = "Decode must be Exact or Fast.")]
    public DecodeMode Decode { get; set; } = DecodeMode.Fast;
}

/// <summary>The rules of <see cref="PreprocessingOptions"/> (attributes and <c>Validate</c>), checked by generated code, without reflection.</summary>
[OptionsValidator]
public sealed partial class PreprocessingOptionsValidator : IValidateOptions<PreprocessingOptions>;
