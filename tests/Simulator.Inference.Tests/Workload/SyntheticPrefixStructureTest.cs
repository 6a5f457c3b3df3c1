using NUnit.Framework;
using Simulator.Inference.Workload;

namespace Simulator.Inference.Tests.Workload;

/// <summary>The synthetic generator's prefix structure: a shared system prompt and multi-turn sessions.</summary>
public sealed class SyntheticPrefixStructureTest
{
    private static List<Request> Read(int shared, SessionSpec? sessions, long requests = 200, int seed = 5, double rate = 4) =>
        new SyntheticWorkloadSource(new SyntheticWorkloadSpec(new ArrivalSpec(ArrivalProcess.Poisson, rate),
            new LengthSpec(LengthDistribution.Uniform, Min: 20, Max: 300), new LengthSpec(LengthDistribution.Uniform, Min: 1, Max: 100),
            requests, null, shared, sessions), seed).Read().ToList();

    [Test]
    public void SharedPrefix_EveryPromptStartsWithTheSameIds_ThenItsOwn()
    {
        var rows = Read(shared: 1000, sessions: null);
        int sharedIds = 1000 / SyntheticWorkloadSource.PrefixIdTokens;
        Assert.That(rows.All(r => r.InputTokens >= 1000 + 20 && r.PrefixBlockTokens == SyntheticWorkloadSource.PrefixIdTokens), Is.True);
        Assert.That(rows.Select(r => string.Join(",", r.PrefixBlockIds!.Take(sharedIds))).Distinct().Count(), Is.EqualTo(1));
        Assert.That(rows.Select(r => r.PrefixBlockIds![sharedIds]).Distinct().Count(), Is.EqualTo(rows.Count), "what follows is each request's own");
        Assert.That(rows.All(r => r.PrefixBlockIds!.Count == (r.InputTokens + r.OutputTokens + 15) / 16), Is.True, "ids cover prompt and output");
        Assert.That(rows.All(r => r.Session is null), Is.True);
        // Lengths and arrivals are those of the plain generator, plus the system prompt.
        var plain = Read(shared: 0, sessions: null);
        Assert.That(plain.All(r => r.PrefixBlockIds is null), Is.True, "no structure, no ids: the existing workloads are unchanged");
        Assert.That(rows.Select(r => (r.ArrivalNs, r.InputTokens - 1000, r.OutputTokens)), Is.EqualTo(plain.Select(r => (r.ArrivalNs, r.InputTokens, r.OutputTokens))));
    }

    [Test]
    public void Sessions_TurnExtendsThePreviousTurn_ArrivesThinkTimeLater_InArrivalOrder()
    {
        var rows = Read(shared: 64, sessions: new SessionSpec(Turns: 4, ThinkTimeS: 3), requests: 400, rate: 0.5);
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(Enumerable.Range(0, rows.Count).Select(i => (long)i)));
        for (int i = 1; i < rows.Count; i++) Assert.That(rows[i].ArrivalNs, Is.GreaterThanOrEqualTo(rows[i - 1].ArrivalNs));
        var bySession = rows.GroupBy(r => r.Session!).ToList();
        Assert.That(bySession.Count(g => g.Count() == 4), Is.GreaterThan(90));
        Assert.That(rows.Zip(rows.Skip(1)).Any(p => p.First.Session != p.Second.Session && int.Parse(p.First.Session!) > int.Parse(p.Second.Session!)), Is.True, "sessions interleave");
        foreach (var turns in bySession.Select(g => g.ToList()))
        {
            for (int k = 1; k < turns.Count; k++)
            {
                var (prev, cur) = (turns[k - 1], turns[k]);
                Assert.That(cur.ArrivalNs - prev.ArrivalNs, Is.EqualTo(3_000_000_000L));
                Assert.That(cur.InputTokens - prev.InputTokens - prev.OutputTokens, Is.InRange(20, 300), "new user tokens");
                // Every id of the previous turn's prompt and output that was a whole chunk is a prefix of this turn's ids.
                int whole = (prev.InputTokens + prev.OutputTokens) / 16;
                Assert.That(cur.PrefixBlockIds!.Take(whole), Is.EqualTo(prev.PrefixBlockIds!.Take(whole)));
            }
        }
        Assert.That(rows.Select(r => r.PrefixBlockIds![0]).Distinct().Count(), Is.EqualTo(1), "the 64-token system prompt is shared");
        Assert.That(Read(64, new SessionSpec(4, 3), 400, rate: 0.5).Select(r => (r.Id, r.ArrivalNs, r.InputTokens, r.Session)), Is.EqualTo(rows.Select(r => (r.Id, r.ArrivalNs, r.InputTokens, r.Session))), "deterministic");
    }
}
