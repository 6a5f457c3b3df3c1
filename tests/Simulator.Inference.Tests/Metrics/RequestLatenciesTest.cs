using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class RequestLatenciesTest
{
    [Test]
    public void From_CompletedRequest_FollowsVllmDefinitions()
    {
        // arrival 1 s, scheduled 1.05 s, first token 1.2 s, completion 2.2 s, 11 tokens.
        var r = Completed(1, 1 * S, 1200 * Ms, 2200 * Ms, 11, scheduledNs: 1050 * Ms);
        var l = RequestLatencies.From(r);
        Assert.Multiple(() =>
        {
            Assert.That(l.TtftMs, Is.EqualTo(200.0).Within(1e-9));
            Assert.That(l.E2eMs, Is.EqualTo(1200.0).Within(1e-9));
            Assert.That(l.TpotMs, Is.EqualTo(100.0).Within(1e-9)); // (1200 - 200) / (11 - 1)
            Assert.That(l.QueueMs, Is.EqualTo(50.0).Within(1e-9));
        });
    }

    [Test]
    public void From_OneTokenOutput_HasNoTpot()
    {
        var l = RequestLatencies.From(Completed(1, 0, 30 * Ms, 30 * Ms, 1));
        Assert.That(l.TpotMs, Is.Null);
        Assert.That(l.TtftMs, Is.EqualTo(30.0).Within(1e-9));
    }

    [Test]
    public void From_RejectedRequest_HasNoLatencies()
    {
        var l = RequestLatencies.From(Ended(1, 5 * S, RequestStatus.Rejected));
        Assert.That(new object?[] { l.TtftMs, l.TpotMs, l.E2eMs, l.QueueMs }, Is.All.Null);
    }

    [Test]
    public void From_UnfinishedWithFirstToken_HasTtftButNoE2eOrTpot()
    {
        var r = new RequestRecord(1, 0, 0, 10, 50, 5, 0, RequestStatus.Unfinished, 100 * Ms, null, 10 * Ms, 1);
        var l = RequestLatencies.From(r);
        Assert.Multiple(() =>
        {
            Assert.That(l.TtftMs, Is.EqualTo(100.0).Within(1e-9));
            Assert.That(l.QueueMs, Is.EqualTo(10.0).Within(1e-9));
            Assert.That(l.E2eMs, Is.Null);
            Assert.That(l.TpotMs, Is.Null);
        });
    }

    [TestCase(200, 100, true)]    // TTFT 200 <= 500, TPOT 100 <= 100
    [TestCase(600, 100, false)]   // TTFT over
    [TestCase(200, 101, false)]   // TPOT over
    public void MeetsSlo_ChecksEveryThreshold(long ttftMs, long tpotMs, bool expected)
    {
        // 11 tokens: completion = first token + 10 x TPOT.
        var r = Completed(1, 0, ttftMs * Ms, ttftMs * Ms + 10 * tpotMs * Ms, 11);
        Assert.That(RequestLatencies.MeetsSlo(r, RequestLatencies.From(r), new SloSpec(500, 100)), Is.EqualTo(expected));
    }

    [Test]
    public void MeetsSlo_OneTokenOutput_PassesTpotCheck()
    {
        var r = Completed(1, 0, 100 * Ms, 100 * Ms, 1);
        Assert.That(RequestLatencies.MeetsSlo(r, RequestLatencies.From(r), new SloSpec(500, 1)), Is.True);
    }

    [Test]
    public void MeetsSlo_RejectedRequest_NeverMeets()
    {
        var r = Ended(1, 0, RequestStatus.Rejected);
        Assert.That(RequestLatencies.MeetsSlo(r, RequestLatencies.From(r), SloSpec.None), Is.False);
    }

    [Test]
    public void MeetsSlo_NoLimits_EveryCompletedRequestMeets()
    {
        var r = Completed(1, 0, 99 * S, 100 * S, 5);
        Assert.That(RequestLatencies.MeetsSlo(r, RequestLatencies.From(r), SloSpec.None), Is.True);
    }
}
