using System.Net;
using System.Text.Json.Nodes;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Host.Tests.Infrastructure.Browser;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// The page at <c>/api/ui/</c> in headless Chromium against the app in the real host: a person's whole visit, from
/// typing the key to a finished batch job. Event Grid does not exist here, so the test delivers each upload's
/// BlobCreated event to the host's webhook itself, as the subscription would in Azure.
/// </summary>
[Collection(ServingApp.Name)]
public sealed class WebPageTests(ServingAppFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(90);

    // A run writes its screenshots under artifacts/ (the tree stays clean); RESNEST_UPDATE_SCREENSHOTS=1 writes the
    // committed ones under docs/screenshots/ that the README shows.
    private static string Screenshots => Environment.GetEnvironmentVariable("RESNEST_UPDATE_SCREENSHOTS") == "1"
        ? Path.Combine(Repository.Root, "docs", "screenshots")
        : Directory.CreateDirectory(Path.Combine(Repository.Root, "artifacts", "screenshots")).FullName;

    [SkippableFact]
    public async Task A_visit_uploads_two_photos_browses_by_label_opens_a_detail_and_runs_a_batch_job_without_console_errors()
    {
        Skip.If(HeadlessChromium.Unavailable is not null, HeadlessChromium.Unavailable);
        var app = fixture.App;
        await using var chromium = await HeadlessChromium.StartAsync();
        var page = chromium.Page;
        await page.ResizeAsync(1280, 900, mobile: false);
        await page.NavigateAsync(new Uri(app.Http.BaseAddress!, "api/ui/"));

        // A wrong key: a clear message, not a silent failure.
        await EnterKeyAsync(page, "not-the-function-key");
        await page.WaitForAsync("document.querySelector('#key-status').textContent.includes('function key was refused')", s_wait, "the wrong key's message");
        Assert.Contains("bad", (string?)await page.EvaluateAsync("document.querySelector('#key-status').className"));

        await EnterKeyAsync(page, app.Host.Keys.Function);
        await page.WaitForAsync("document.querySelector('#key-status').textContent.includes('Key accepted')", s_wait, "the key to be accepted");

        // Two photos and a text file named like one, chosen in the page's file input.
        var work = Directory.CreateTempSubdirectory("resnest-ui-");
        try
        {
            var dog = Path.Combine(Samples.Directory, "dog.jpg");
            var rocket = Path.Combine(Samples.Directory, "rocket.jpg");
            var hostile = Path.Combine(work.FullName, "holiday.jpg");
            await File.WriteAllTextAsync(hostile, "#!/bin/sh\necho this is not a photo\n");
            await page.SetFilesAsync("#file-input", [dog, rocket, hostile]);

            await page.WaitForAsync("document.querySelectorAll('#uploads li[data-status=pending], #uploads li[data-status=failed]').length === 3", s_wait, "three uploads to be answered");
            var names = (await page.EvaluateAsync("[...document.querySelectorAll('#uploads li[data-name]')].map(li => li.dataset.name)"))!.AsArray()
                .Select(n => (string)n!).ToArray();
            Assert.Equal(2, names.Length);
            Assert.All(names, n => Assert.Matches(@"^uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}-(dog|rocket)\.jpg$", n));

            // The hostile file was refused at the door, with the pipeline's own reason.
            var refused = (string?)await page.EvaluateAsync("document.querySelector('#uploads li[data-file=\"holiday.jpg\"]').textContent");
            Assert.Contains("not a JPEG, PNG, WebP, BMP or GIF", refused);
            Assert.Equal("failed", (string?)await page.EvaluateAsync("document.querySelector('#uploads li[data-file=\"holiday.jpg\"]').dataset.status"));

            // What Event Grid does in Azure: one BlobCreated event per upload to the host's webhook.
            using (var delivered = await app.DeliverBlobCreatedAsync(names.Select(n => app.Images.GetBlobClient(n))))
            {
                Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
            }

            await page.WaitForAsync("document.querySelectorAll('#uploads li[data-status=classified]').length === 2", s_wait, "both photos to be classified");
            await page.WaitForAsync("document.querySelectorAll('#gallery .card img[src^=\"blob:\"]').length === 2", s_wait, "both thumbnails");
            await page.ScreenshotAsync(Path.Combine(Screenshots, "ui-desktop-uploads.png"));

            // Filter by the dog's label: the label index, through the page.
            var dogResult = await app.ResultAsync(names.First(n => n.EndsWith("-dog.jpg", StringComparison.Ordinal)));
            var label = (string)dogResult!["top1"]!["label"]!;
            await page.EvaluateAsync("document.querySelector('#label-input').focus()");
            await page.TypeAsync(label);
            await page.PressAsync("Enter", 13);
            var dogName = (string)dogResult["name"]!;
            await page.WaitForAsync($"[...document.querySelectorAll('#gallery .card')].some(c => c.dataset.name === {JsonValue.Create(dogName).ToJsonString()})", s_wait, "the dog in its label's gallery");
            Assert.Contains(label, (string?)await page.EvaluateAsync("document.querySelector('#gallery-status').textContent"));

            // Open its detail with the keyboard: focus the card, press Enter.
            await page.EvaluateAsync($"[...document.querySelectorAll('#gallery .card')].find(c => c.dataset.name === {JsonValue.Create(dogName).ToJsonString()}).focus()");
            await page.PressAsync("Enter", 13);
            await page.WaitForAsync("document.querySelector('#detail').open && document.querySelector('#detail').dataset.loaded === 'true'", s_wait, "the detail view");
            Assert.Equal(5, (int)(await page.EvaluateAsync("document.querySelectorAll('#detail-top5 li').length"))!);
            var detail = (string?)await page.EvaluateAsync("document.querySelector('#detail').innerText");
            Assert.Contains("resnest-label", detail);
            Assert.Contains(label, detail);
            Assert.Contains("inference", detail);
            await page.WaitForAsync("document.querySelector('#detail-image').src.startsWith('blob:')", s_wait, "the detail image");
            await page.ScreenshotAsync(Path.Combine(Screenshots, "ui-desktop-detail.png"));

            // The phone width, with the detail open and then closed.
            await page.ResizeAsync(390, 844, mobile: true);
            await page.ScreenshotAsync(Path.Combine(Screenshots, "ui-phone-detail.png"));
            await page.PressAsync("Escape", 27);
            await page.WaitForAsync("!document.querySelector('#detail').open", s_wait, "Escape to close the detail");
            Assert.True((bool)(await page.EvaluateAsync("document.documentElement.scrollWidth <= window.innerWidth"))!, "The page scrolls sideways at phone width.");

            // A batch job over the uploads prefix, to completion.
            await page.EvaluateAsync("document.querySelector('#batch-form').requestSubmit()");
            await page.WaitForAsync("document.querySelector('#batch-status').dataset.status === 'completed'", s_wait, "the batch job to complete");
            var progress = (await page.EvaluateAsync("[document.querySelector('#batch-progress').value, document.querySelector('#batch-progress').max]"))!.AsArray();
            Assert.Equal((double)progress[1]!, (double)progress[0]!);
            Assert.True((double)progress[1]! >= 2);
            await page.EvaluateAsync("document.querySelector('#batch-title').scrollIntoView()");
            await page.ScreenshotAsync(Path.Combine(Screenshots, "ui-phone-batch.png"));
        }
        finally
        {
            work.Delete(recursive: true);
        }

        // No console errors. The network log's 4xx lines are the ones the visit causes on purpose (the wrong key's
        // 401, the hostile file's 415, 404 while a result does not exist yet): the API's answers, not the page's errors.
        foreach (var entry in page.Console)
        {
            output.WriteLine($"{entry.Level} [{entry.Source}] {entry.Text}");
        }

        var errors = page.Console.Where(e => e.Level is "error" or "assert" && e.Source != "network").ToList();
        Assert.True(errors.Count == 0, "Console errors:\n" + string.Join('\n', errors));
        Assert.All(page.Console.Where(e => e.Source == "network" && e.Level == "error"), e => Assert.Matches(@"status of (401|404|415)", e.Text));
    }

    private static async Task EnterKeyAsync(CdpPage page, string key)
    {
        await page.EvaluateAsync("document.querySelector('#key-input').focus()");
        await page.TypeAsync(key);
        await page.PressAsync("Enter", 13);
    }
}
