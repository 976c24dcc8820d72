using System.Diagnostics;
using System.Security.Cryptography;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using ResNeSt.Testing.Diagnostics;
using ResNeSt.Testing.Hostile;
using ResNeSt.Testing.Samples;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>The hostile corpus, generated once for the class (a few seconds).</summary>
public sealed class HostileCorpusFixture
{
    public IReadOnlyList<HostileFile> Files { get; } = HostileCorpus.Generate(SampleImages.FindDirectory());
}

/// <summary>
/// Every file of the hostile corpus through the preprocessor with the limits the pipeline uses: each ends as a tensor
/// or as the rejection its class calls for, nothing else escapes, and memory stays bounded.
/// </summary>
public sealed class HostileCorpusTests(HostileCorpusFixture corpus, ITestOutputHelper output) : IClassFixture<HostileCorpusFixture>
{
    /// <summary>
    /// The pipeline's limits (EngineClassifier.UploadLimits with the PipelineOptions defaults: 20 MiB, 10 s decode
    /// time, the default pixel budget). This project cannot see the pipeline; the pipeline's tests run the same corpus
    /// through the real wiring.
    /// </summary>
    private static readonly ImageLimits s_uploadLimits = ImageLimits.Default with { MaxBytes = 20L * 1024 * 1024, DecodeTimeout = TimeSpan.FromSeconds(10) };

    private static readonly PreprocessingSpec s_spec = new(PreprocessingRecipe.Hub, 64, 73, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    [Fact]
    public void The_corpus_has_hundreds_of_uniquely_named_files_in_every_class()
    {
        var files = corpus.Files;
        Assert.True(files.Count >= 300, $"only {files.Count} files");
        Assert.Equal(files.Count, files.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var kind in Enum.GetValues<HostileClass>())
        {
            Assert.Contains(files, f => f.Class == kind);
        }

        // Every file that must be refused says why; the "anything but a crash" expectation is kept to damage whose effect
        // depends on where it lands.
        Assert.All(files.Where(f => !f.Expected.MayClassify), f => Assert.NotEmpty(f.Expected.Reasons));
        Assert.All(files.Where(f => f.Class is HostileClass.Empty or HostileClass.NotAnImage or HostileClass.Truncated), f => Assert.False(f.Expected.MayClassify && f.Expected.Reasons.Count > 1, f.Name));
        output.WriteLine(string.Join(Environment.NewLine, files.GroupBy(f => f.Class).Select(g => $"{g.Key}: {g.Count()} files, {g.Sum(f => (long)f.Content.Length) / 1024} KiB")));
    }

    [Fact]
    public void The_corpus_is_the_same_bytes_under_the_same_names_every_time()
    {
        var again = HostileCorpus.Generate(SampleImages.FindDirectory());
        Assert.Equal(corpus.Files.Select(f => f.Name), again.Select(f => f.Name));
        for (int i = 0; i < again.Count; i++)
        {
            Assert.True(SHA256.HashData(corpus.Files[i].Content).AsSpan().SequenceEqual(SHA256.HashData(again[i].Content)), corpus.Files[i].Name);
        }

    }

    [Fact]
    public void Every_file_is_classified_or_rejected_as_its_class_expects_with_bounded_memory()
    {
        var preprocessor = new ImagePreprocessor(s_uploadLimits);
        var destination = new float[s_spec.TensorLength];
        preprocessor.Preprocess(File.ReadAllBytes(Path.Combine(SampleImages.FindDirectory(), "rocket.jpg")), destination, s_spec); // warm-up

        var failures = new List<string>();
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var slowest = (Name: "", Ms: 0.0);
        var total = Stopwatch.StartNew();
        using var memory = WorkingSetSampler.Start();
        foreach (var file in corpus.Files)
        {
            var started = Stopwatch.GetTimestamp();
            string outcome;
            try
            {
                preprocessor.Preprocess(file.Content, destination, s_spec);
                outcome = "classified";
                if (!file.Expected.Accepts(null))
                {
                    failures.Add($"{file.Name}: classified, expected {file.Expected}");
                }
                else if (!destination.All(float.IsFinite))
                {
                    failures.Add($"{file.Name}: the tensor holds non-finite values");
                }
            }
            catch (ImageRejectedException ex)
            {
                outcome = ex.Code;
                if (!file.Expected.Accepts(ex.Reason))
                {
                    failures.Add($"{file.Name}: rejected as {ex.Code} ({ex.Message}), expected {file.Expected}");
                }

                // Reasons are sentences that logs, results and problem documents quote as they are ("empty.." was one).
                if (!ex.Message.EndsWith('.') || ex.Message.EndsWith("..", StringComparison.Ordinal))
                {
                    failures.Add($"{file.Name}: the reason \"{ex.Message}\" does not end with one full stop");
                }
            }
#pragma warning disable CA1031 // the point of the test: any other exception is a finding, reported with the file's name
            catch (Exception ex)
#pragma warning restore CA1031
            {
                outcome = ex.GetType().Name;
                failures.Add($"{file.Name}: {ex.GetType().FullName}: {ex.Message}");
            }

            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (ms > slowest.Ms)
            {
                slowest = (file.Name, ms);
            }

            var key = $"{file.Class} → {outcome}";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }

        output.WriteLine($"{corpus.Files.Count} files in {total.Elapsed.TotalSeconds:F1} s; slowest {slowest.Name} {slowest.Ms:F0} ms");
        output.WriteLine($"working set: baseline {memory.Baseline >> 20} MiB, peak {memory.Peak >> 20} MiB, growth {memory.PeakGrowth >> 20} MiB");
        output.WriteLine(string.Join(Environment.NewLine, outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value}")));
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

        // The largest legitimate decode (40 megapixels of 16-bit RGB, decoded wide then narrowed) needs about 450 MiB;
        // the allocator refuses any single buffer over ~370 MiB. A leak, an unbounded frame loop or an inflated bomb
        // would go far past this bound; one decode at a time must stay well within it.
        Assert.True(memory.PeakGrowth < 1024L << 20, $"working set grew by {memory.PeakGrowth >> 20} MiB");
    }
}
