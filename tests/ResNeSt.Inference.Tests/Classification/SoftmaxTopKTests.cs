using ResNeSt.Inference.Classification;

namespace ResNeSt.Inference.Tests.Classification;

public sealed class SoftmaxTopKTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 2)]
    [InlineData(17, 3)]
    [InlineData(1000, 4)]
    public void Matches_a_full_sort_and_a_double_precision_softmax(int k, int seed)
    {
        var random = new Random(seed);
        for (var trial = 0; trial < 50; trial++)
        {
            var logits = new float[1000];
            for (var i = 0; i < logits.Length; i++)
            {
                logits[i] = (float)((random.NextDouble() * 40) - 20);
            }

            var indices = new int[k];
            var probabilities = new float[k];
            SoftmaxTopK.Select(logits, indices, probabilities);

            var max = logits.Max();
            var sum = logits.Sum(l => Math.Exp(l - max));
            var expected = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToArray();
            Assert.Equal(expected, indices);
            for (var j = 0; j < k; j++)
            {
                var exact = Math.Exp(logits[indices[j]] - max) / sum;
                Assert.Equal(exact, probabilities[j], (exact * 1e-6) + 1e-12);
            }
        }
    }

    [Fact]
    public void Breaks_ties_by_the_lower_index_and_survives_huge_logits()
    {
        var logits = new float[1000];
        logits[700] = 1e30f; // exp would overflow without subtracting the maximum
        logits[3] = 5;
        logits[900] = 5;
        logits[10] = 5;
        var indices = new int[4];
        var probabilities = new float[4];
        SoftmaxTopK.Select(logits, indices, probabilities);
        Assert.Equal([700, 3, 10, 900], indices);
        Assert.Equal(1f, probabilities[0]);
        Assert.Equal(0f, probabilities[1]);
    }

    [Fact]
    public void Probabilities_of_all_classes_sum_to_one()
    {
        var random = new Random(7);
        var logits = Enumerable.Range(0, 1000).Select(_ => (float)random.NextDouble() * 10).ToArray();
        var predictions = SoftmaxTopK.Predict(logits, 1000, ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames);
        Assert.Equal(1.0, predictions.Sum(p => (double)p.Probability), 4);
        Assert.Equal(ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames[predictions[0].Index], predictions[0].Label);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Refuses_non_finite_logits(float bad)
    {
        var logits = new float[1000];
        logits[42] = bad;
        Assert.Throws<InvalidOperationException>(() => SoftmaxTopK.Predict(logits, 5, ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames));
    }
}
