namespace ResNeSt.Inference.Classification;

/// <summary>
/// Softmax and top-k over one image's logits without sorting all of them: one pass for the maximum, one pass that
/// sums <c>exp(l - max)</c> in double and keeps the k best in a small min-heap (O(n log k)).
/// </summary>
public static class SoftmaxTopK
{
    public const int DefaultK = 5;

    /// <summary>
    /// Writes the indices of the <c>k = indices.Length</c> largest logits, best first (ties: lower index first), and their
    /// softmax probabilities. Throws <see cref="InvalidOperationException"/> for non-finite logits, which no softmax can rank.
    /// </summary>
    public static void Select(ReadOnlySpan<float> logits, Span<int> indices, Span<float> probabilities)
    {
        var k = indices.Length;
        if (k < 1 || k > logits.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(indices), $"k must be between 1 and {logits.Length}.");
        }

        if (probabilities.Length != k)
        {
            throw new ArgumentException("probabilities must have one entry per index.", nameof(probabilities));
        }

        var max = float.NegativeInfinity;
        foreach (var value in logits)
        {
            if (!float.IsFinite(value))
            {
                throw new InvalidOperationException("The model produced a non-finite logit; the image has no meaningful ranking.");
            }

            max = Math.Max(max, value);
        }

        // indices[0..count) is a min-heap on (value, then higher index is worse) while filling; sorted afterwards.
        var count = 0;
        double sum = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var value = logits[i];
            sum += Math.Exp(value - max);
            if (count < k)
            {
                indices[count] = i;
                SiftUp(logits, indices, count++);
            }
            else if (Better(logits, i, indices[0]))
            {
                indices[0] = i;
                SiftDown(logits, indices, 0, k);
            }
        }

        // Heap sort in place: repeatedly move the worst to the end, leaving best-first order.
        for (var end = k - 1; end > 0; end--)
        {
            (indices[0], indices[end]) = (indices[end], indices[0]);
            SiftDown(logits, indices, 0, end);
        }

        for (var j = 0; j < k; j++)
        {
            probabilities[j] = (float)(Math.Exp(logits[indices[j]] - max) / sum);
        }
    }

    /// <summary>The top-k as predictions with labels.</summary>
    public static Prediction[] Predict(ReadOnlySpan<float> logits, int k, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var indices = k <= 64 ? stackalloc int[k] : new int[k];
        var probabilities = k <= 64 ? stackalloc float[k] : new float[k];
        Select(logits, indices, probabilities);
        var predictions = new Prediction[k];
        for (var j = 0; j < k; j++)
        {
            var index = indices[j];
            predictions[j] = new Prediction(index, index < labels.Count ? labels[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture), probabilities[j]);
        }

        return predictions;
    }

    /// <summary>a ranks before b: larger logit, or equal logit and lower index.</summary>
    private static bool Better(ReadOnlySpan<float> logits, int a, int b) =>
        logits[a] > logits[b] || (logits[a] == logits[b] && a < b);

    private static void SiftUp(ReadOnlySpan<float> logits, Span<int> heap, int child)
    {
        while (child > 0)
        {
            var parent = (child - 1) / 2;
            if (!Better(logits, heap[parent], heap[child]))
            {
                return;
            }

            (heap[parent], heap[child]) = (heap[child], heap[parent]);
            child = parent;
        }
    }

    private static void SiftDown(ReadOnlySpan<float> logits, Span<int> heap, int parent, int count)
    {
        while (true)
        {
            var worst = parent;
            var left = (2 * parent) + 1;
            var right = left + 1;
            if (left < count && Better(logits, heap[worst], heap[left]))
            {
                worst = left;
            }

            if (right < count && Better(logits, heap[worst], heap[right]))
            {
                worst = right;
            }

            if (worst == parent)
            {
                return;
            }

            (heap[parent], heap[worst]) = (heap[worst], heap[parent]);
            parent = worst;
        }
    }
}
