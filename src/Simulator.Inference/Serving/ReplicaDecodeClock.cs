using Simulator.Inference.Cost;

namespace Simulator.Inference.Serving;

// The decode-clock side of a replica: steady decodes of a microbatch group are counted by the group's DecodeClock
// instead of being visited every iteration; the scheduler adds them to a batch as one block and CompletePass advances
// them as one block. Sequences join the clock after a pass in which they emitted a token and leave it when they finish,
// or all at once before a pass the clock cannot count (budget, KV pressure) and when the replica goes down.
public sealed partial class Replica
{
    private readonly IDecodeSumCostModel? _decodeSumCost;
    private readonly bool _useClock;
    private readonly List<Sequence> _clockFinished = new();

    /// <summary>Passes of a group after it was taken off its clock during which no sequence joins it again.</summary>
    private const int AttachCooldownPasses = 8;

    /// <summary>The running sequences of <paramref name="group"/> not counted by its decode clock, oldest admission first (read only).</summary>
    // Implementation note: the concrete list, so the scheduler's reads of every pass are direct calls, not interface dispatch.
    internal List<Sequence> LooseOf(int group) => _groups[group].Loose;

    /// <summary>Decoding sequences of <paramref name="group"/> counted by its clock (each is one decode step of its next batch).</summary>
    internal int ClockedDecodes(int group) => _groups[group].Clock.Count;

    /// <summary>KV blocks the clocked decodes of <paramref name="group"/> grow by in its next batch.</summary>
    internal int ClockedGrowthBlocks(int group) => _groups[group].Clock.GrowthBlocks;

    /// <summary>Takes every sequence of <paramref name="group"/> off its clock: the next batch is built sequence by sequence.</summary>
    internal void DetachClock(int group)
    {
        var g = _groups[group];
        g.Clock.DetachAll(g.Running);
        g.Loose.Clear();
        g.Loose.AddRange(g.Running);
        g.AttachCooldown = AttachCooldownPasses;
    }

    /// <summary>Adds the clocked decodes of the group being built to its batch with their KV growth (the caller checked that it fits).</summary>
    internal void AppendClocked()
    {
        if (_building < 0) throw new InvalidOperationException("no batch is being built");
        var g = _groups[_building];
        var clock = g.Clock;
        if (clock.Count == 0 || g.ClockInBatch) return;
        Kv.Allocate(clock.GrowthBlocks);
        clock.Launch();
        g.ClockInBatch = true;
        g.ClockSeqs = clock.Count;
        g.ClockContextTokens = clock.ContextTokens;
        g.BatchTokens += clock.Count;
        g.DecodeTokens += clock.Count;
    }

    /// <summary>The clock's part of a pass that ended at <paramref name="nowNs"/>: one token each, the gap since the group's previous pass; true when some finished.</summary>
    private bool CompleteClockedPass(Group g, long nowNs)
    {
        if (g.ClockInBatch && g.ClockSeqs > 0) _recorder.OnTokenGaps(nowNs - g.Clock.LastPassNs, g.ClockSeqs);
        g.Clock.Complete(nowNs, _clockFinished);
        bool any = _clockFinished.Count > 0;
        _clockFinished.Clear();
        return any;
    }

    /// <summary>After a pass: the batch's loose sequences that emitted a token and keep decoding join the clock; the loose list drops them and those that left.</summary>
    // Implementation note: a group that had to leave its clock (budget, KV pressure, a prompt block still to register)
    // would otherwise rejoin after the next pass and leave again before the one after, paying both every pass; it stays
    // off the clock for a few passes instead. When sequences join changes no result, only how often they are visited.
    private void AttachSteadyDecodes(Group g, long nowNs)
    {
        if (g.AttachCooldown > 0) g.AttachCooldown--;
        else if (_useClock && HandOff == null)
        {
            foreach (var seq in g.Seqs)
                if (g.Clock.CanAttach(seq, nowNs)) g.Clock.Attach(seq);
        }
        var loose = g.Loose;
        int kept = 0;
        for (int i = 0; i < loose.Count; i++)
        {
            var seq = loose[i];
            if (seq.Clock == null && seq.State == SequenceState.Running) loose[kept++] = seq;
        }
        loose.RemoveRange(kept, loose.Count - kept);
    }

    private void RemoveLoose(int group, Sequence seq)
    {
        if (seq.Clock != null) throw new InvalidOperationException($"request {seq.Request.Id} is counted by its group's clock");
        var loose = _groups[group].Loose;
        int i = loose.LastIndexOf(seq);
        if (i >= 0) loose.RemoveAt(i);
    }
}
