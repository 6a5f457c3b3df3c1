using NUnit.Framework;
using Simulator.Inference.Workload;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Workload;

public sealed class TraceWorkloadSourceTest
{
    private static string AzureCode => TestPaths.Data("traces", "azure-llm-2023-code.csv");
    private static string AzureConv => TestPaths.Data("traces", "azure-llm-2023-conv.csv");
    private static string Mooncake => TestPaths.Data("traces", "mooncake-fast25-conversation.jsonl");

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "trace-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static double Percentile(List<int> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        // nearest-rank on (n-1) interpolation, as numpy's default
        double pos = p / 100.0 * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    [Test]
    public void AzureCode_MatchesPublishedFacts()
    {
        var source = new TraceWorkloadSource(AzureCode);
        var rows = source.Read().ToList();
        Assert.That(source.Format, Is.EqualTo(TraceFormat.Azure));
        Assert.That(rows, Has.Count.EqualTo(8819));
        Assert.That(rows[0], Is.EqualTo(new Request(0, 0, 4808, 10)));
        // second row: 18:17:04.0319600 - 18:17:03.9799600 = 52 ms exactly
        Assert.That(rows[1].ArrivalNs, Is.EqualTo(52_000_000));
        // last row 19:14:19.9280160 - 18:17:03.9799600 = 3435.9480560 s, exact to the 100 ns tick
        Assert.That(rows[^1].ArrivalNs, Is.EqualTo(3_435_948_056_000));
        double spanMin = rows[^1].ArrivalNs / 60e9;
        Assert.That(spanMin, Is.EqualTo(57).Within(1));
        Assert.That(rows.Count / (rows[^1].ArrivalNs / 1e9), Is.EqualTo(2.57).Within(0.005));
        var inputs = rows.Select(r => r.InputTokens).ToList();
        Assert.That(inputs.Average(), Is.EqualTo(2048).Within(0.5));
        Assert.That(Percentile(inputs, 50), Is.EqualTo(1469).Within(1));
        Assert.That(Percentile(inputs, 99), Is.EqualTo(7436).Within(2));
        Assert.That(rows.Average(r => r.OutputTokens), Is.EqualTo(28).Within(0.5));
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(Enumerable.Range(0, rows.Count).Select(i => (long)i)));
    }

    [Test]
    public void AzureConv_MatchesPublishedFacts()
    {
        var rows = new TraceWorkloadSource(AzureConv, TraceFormat.Azure).Read().ToList();
        Assert.That(rows, Has.Count.EqualTo(19366));
        Assert.That(rows.Average(r => r.InputTokens), Is.EqualTo(1155).Within(0.5));
        Assert.That(rows.Max(r => r.InputTokens), Is.EqualTo(14050));
        Assert.That(rows.Average(r => r.OutputTokens), Is.EqualTo(211).Within(0.5));
        Assert.That(rows.Max(r => r.OutputTokens), Is.EqualTo(1000));
        Assert.That(rows.Count / (rows[^1].ArrivalNs / 1e9), Is.EqualTo(5.53).Within(0.01));
    }

    [Test]
    public void Mooncake_MatchesPublishedFacts_AndKeepsHashIds()
    {
        var source = new TraceWorkloadSource(Mooncake);
        Assert.That(source.Format, Is.EqualTo(TraceFormat.Mooncake));
        var seen = new HashSet<long>();
        long references = 0, repeated = 0, rows = 0, inputSum = 0, lastNs = 0;
        foreach (var r in source.Read())
        {
            rows++;
            inputSum += r.InputTokens;
            lastNs = r.ArrivalNs;
            Assert.That(r.PrefixBlockTokens, Is.EqualTo(512));
            Assert.That(r.PrefixBlockIds!, Has.Count.EqualTo((r.InputTokens + 511) / 512));
            foreach (long id in r.PrefixBlockIds!)
            {
                references++;
                if (!seen.Add(id)) repeated++;
            }
        }
        Assert.That(rows, Is.EqualTo(12031));
        Assert.That((double)inputSum / rows, Is.EqualTo(12035).Within(0.5));
        Assert.That((double)repeated / references, Is.EqualTo(0.366).Within(0.0005));
        Assert.That(lastNs, Is.EqualTo(3_536_999_000_000)); // timestamp 3536999 ms
    }

    [Test]
    public void TimeScale_MultipliesInterArrivalTimes()
    {
        var normal = new TraceWorkloadSource(AzureCode, options: new TraceOptions { Limit = 100 }).Read().ToList();
        var half = new TraceWorkloadSource(AzureCode, options: new TraceOptions { Limit = 100, TimeScale = 0.5 }).Read().ToList();
        Assert.That(half, Has.Count.EqualTo(100));
        for (int i = 0; i < 100; i++) Assert.That(half[i].ArrivalNs, Is.EqualTo(normal[i].ArrivalNs / 2).Within(1));
    }

    [Test]
    public void Window_KeepsRowsInRange_AndRebasesToStart()
    {
        var all = new TraceWorkloadSource(AzureCode).Read().ToList();
        var window = new TraceWorkloadSource(AzureCode, options: new TraceOptions { StartS = 600, EndS = 900 }).Read().ToList();
        var expected = all.Where(r => r.ArrivalNs >= 600_000_000_000 && r.ArrivalNs < 900_000_000_000).ToList();
        Assert.That(window, Has.Count.EqualTo(expected.Count).And.Count.GreaterThan(50));
        Assert.That(window[0].ArrivalNs, Is.EqualTo(expected[0].ArrivalNs - 600_000_000_000));
        Assert.That(window[0].InputTokens, Is.EqualTo(expected[0].InputTokens));
        Assert.That(window[0].Id, Is.EqualTo(0));
    }

    [Test]
    public void Limit_StopsAfterThatManyRows()
    {
        Assert.That(new TraceWorkloadSource(AzureConv, options: new TraceOptions { Limit = 7 }).Read().Count(), Is.EqualTo(7));
        Assert.That(new TraceWorkloadSource(AzureConv, options: new TraceOptions { Limit = 0 }).Read().Count(), Is.EqualTo(0));
    }

    [Test]
    public void Read_IsStreamed_MalformedRowAfterFirstIsOnlySeenWhenReached()
    {
        string path = Write("t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0,x,1\n");
        var source = new TraceWorkloadSource(path);
        Assert.That(source.Read().First().InputTokens, Is.EqualTo(4808));
        var ex = Assert.Throws<WorkloadFormatException>(() => source.Read().ToList())!;
        Assert.That(ex.Message, Is.EqualTo($"error: {path}:3: ContextTokens: got 'x'; expected an integer >= 1"));
        Assert.That(ex.Line, Is.EqualTo(3));
    }

    [Test]
    public void Vidur_ParsesSecondsExactly()
    {
        string path = Write("v.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.5,100,20\n0.750000001,200,30\n");
        var rows = new TraceWorkloadSource(path).Read().ToList();
        Assert.That(rows, Is.EqualTo(new[] { new Request(0, 0, 100, 20), new Request(1, 250_000_001, 200, 30) }));
    }

    [Test]
    public void BurstGpt_SkipsFailedZeroResponseRows_ByDefault()
    {
        string path = Write("b.csv", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n" +
                                     "5,ChatGPT,472,18,490,Conversation log\n45,ChatGPT,1087,0,1087,Conversation log\n110.5,\"GPT-4\",417,505,922,API log\n");
        var source = new TraceWorkloadSource(path);
        Assert.That(source.Format, Is.EqualTo(TraceFormat.BurstGpt));
        var rows = source.Read().ToList();
        Assert.That(rows, Is.EqualTo(new[] { new Request(0, 0, 472, 18), new Request(1, 105_500_000_000, 417, 505) }));
        var one = new TraceWorkloadSource(path, options: new TraceOptions { ZeroOutput = ZeroOutputPolicy.One }).Read().ToList();
        Assert.That(one[1], Is.EqualTo(new Request(1, 40_000_000_000, 1087, 1)));
        var ex = Assert.Throws<WorkloadFormatException>(() =>
            new TraceWorkloadSource(path, options: new TraceOptions { ZeroOutput = ZeroOutputPolicy.Error }).Read().ToList())!;
        Assert.That(ex.Message, Does.StartWith($"error: {path}:3: Response tokens: 0 output tokens"));
    }

    [Test]
    public void OutOfOrderRow_IsAnErrorNamingTheRow()
    {
        string path = Write("v.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n1.0,100,20\n0.5,200,30\n");
        var ex = Assert.Throws<WorkloadFormatException>(() => new TraceWorkloadSource(path).Read().ToList())!;
        Assert.That(ex.Message, Is.EqualTo($"error: {path}:3: arrived_at: rows must be in non-decreasing time order; this row is 0.5 s earlier than the row before it"));
    }

    [Test]
    public void MooncakeMalformedJson_NamesLineAndField()
    {
        string path = Write("m.jsonl", "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [1]}\n{\"timestamp\": 3, \"input_length\": \"ten\", \"output_length\": 5}\n");
        var ex = Assert.Throws<WorkloadFormatException>(() => new TraceWorkloadSource(path).Read().ToList())!;
        Assert.That(ex.Message, Is.EqualTo($"error: {path}:2: input_length: got \"ten\"; expected an integer >= 1"));
    }

    [Test]
    public void UnknownHeader_IsRejected_ListingFormats()
    {
        string path = Write("x.csv", "a,b,c\n1,2,3\n");
        var ex = Assert.Throws<WorkloadFormatException>(() => _ = new TraceWorkloadSource(path))!;
        Assert.That(ex.Message, Does.StartWith($"error: {path}:1: header: unknown trace format"));
        Assert.That(ex.Message, Does.Contain("azure").And.Contain("vidur").And.Contain("burstgpt").And.Contain("mooncake"));
    }

    [Test]
    public void MissingColumn_ForExplicitFormat_NamesTheColumn()
    {
        string path = Write("x.csv", "arrived_at,num_prefill_tokens\n1,2\n");
        var ex = Assert.Throws<WorkloadFormatException>(() => new TraceWorkloadSource(path, TraceFormat.Vidur).Read().ToList())!;
        Assert.That(ex.Message, Does.StartWith($"error: {path}:1: num_decode_tokens: column missing"));
    }
}
