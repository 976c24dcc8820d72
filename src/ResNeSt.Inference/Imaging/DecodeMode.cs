namespace ResNeSt.Inference.Imaging;

/// <summary>How JPEGs are decoded before the PIL-exact resample (app setting <c>Preprocessing__Decode</c>, CLI <c>--decode</c>).</summary>
public enum DecodeMode
{
    /// <summary>
    /// Full-size decode: the tensor matches PIL + torchvision on the same file (the parity path). Costs a full
    /// 12-megapixel decode for a phone photo that the model sees at 256 px.
    /// </summary>
    Exact,

    /// <summary>
    /// A JPEG at least twice the resize target is decoded at 1/2, 1/4 or 1/8 size in the DCT domain (libjpeg-turbo's
    /// scaled IDCT, what PIL's <c>Image.draft</c> does) and then resampled as in <see cref="Exact"/>. Other images
    /// take the exact path. See docs/decoding.md for what it costs in agreement.
    /// </summary>
    Fast,
}
