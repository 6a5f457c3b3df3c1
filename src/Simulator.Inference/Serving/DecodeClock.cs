namespace Simulator.Inference.Serving;

/// <summary>
/// The shared token clock of one microbatch group: the decoding sequences attached to it advance by one token on every
/// pass of the group without being visited. A sequence's computed and generated tokens, held blocks and latest token
/// time are read off the clock (<see cref="Sequence"/>); the group's decode work (how many sequences, their total
/// context), the KV blocks its decodes grow by in a pass and the sequences that finish in a pass are kept as sums and
/// schedules, so a pass of steady decodes costs O(1) plus the sequences that join, grow a block or leave.
/// </summary>
// Implementation note: a sequence attaches only right after a pass in which it emitted a token, with exactly the blocks
// its tokens plus one need (what the scheduler's growth leaves) and nothing left to register in the prefix cache, and it
// stays attached only while every pass of its group includes it (the scheduler detaches the whole group before any
// pass that might skip, preempt or budget one of them). Then its state after k more passes is its attach-time state plus
// k tokens, it needs a block exactly when its tokens plus one reach a multiple of the block size (a fixed residue of
// the pass count modulo the block size) and it finishes on a pass known at attach time from its output target.
internal sealed class DecodeClock
{
    private readonly int _blockSize;
    private readonly int[] _growthByResidue;
    private readonly PriorityQueue<Sequence, long> _finishes = new();
    private long _contextMinusBase;
    // The smallest tick in _finishes (long.MaxValue when empty), so a pass in which nobody finishes does not touch the queue.
    private long _nextFinishTick = long.MaxValue;

    public DecodeClock(int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        _blockSize = blockSize;
        _growthByResidue = new int[blockSize];
    }

    /// <summary>Passes of the group completed since it was created.</summary>
    public long Ticks { get; private set; }

    /// <summary>Whether a pass that includes the attached sequences is in the pipeline (it has taken its KV growth already).</summary>
    public bool InFlight { get; private set; }

    /// <summary>Passes whose KV growth has been taken: <see cref="Ticks"/>, plus one while a pass is in flight.</summary>
    public long ScheduledTicks => InFlight ? Ticks + 1 : Ticks;

    /// <summary>When the group's latest pass ended (ns): the latest token time of every attached sequence.</summary>
    public long LastPassNs { get; private set; }

    /// <summary>Sequences attached.</summary>
    public int Count { get; private set; }

    /// <summary>Tokens in the KV caches of the attached sequences now (the context of their next decode step).</summary>
    public long ContextTokens => _contextMinusBase + Count * Ticks;

    /// <summary>KV blocks the attached sequences grow by in the next pass (one each for those whose next token starts a block).</summary>
    public int GrowthBlocks => _growthByResidue[(int)(Ticks % _blockSize)];

    /// <summary>Blocks that hold <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(long tokens) => (int)((tokens + _blockSize - 1) / _blockSize);

    /// <summary>Whether <paramref name="seq"/>, which just emitted a token at <paramref name="nowNs"/> in the pass that ended now, may be counted by the clock.</summary>
    public bool CanAttach(Sequence seq, long nowNs) =>
        seq.Clock == null && !InFlight && nowNs == LastPassNs && seq.State == SequenceState.Running && !seq.IsPrefilling
        && seq.ComputedTokens > 0 && seq.GeneratedTokens < seq.OutputTarget && seq.LastTokenNs == nowNs
        && seq.HeldBlocks == BlocksFor((long)seq.ComputedTokens + 1)
        && !seq.HasBlocksToRegister(_blockSize);

    /// <summary>Attaches <paramref name="seq"/> (<see cref="CanAttach"/>): from now on each pass of the group advances it by one token.</summary>
    public void Attach(Sequence seq)
    {
        if (!CanAttach(seq, LastPassNs)) throw new InvalidOperationException($"request {seq.Request.Id} cannot be counted by the decode clock");
        seq.AttachClock(this, Ticks);
        Count++;
        _contextMinusBase += seq.RawComputedTokens - Ticks;
        _growthByResidue[Residue(seq)]++;
        // It emits one token per pass: the pass that brings it to its output target is its last.
        long finishTick = Ticks + seq.OutputTarget - seq.RawGeneratedTokens;
        _finishes.Enqueue(seq, finishTick);
        if (finishTick < _nextFinishTick) _nextFinishTick = finishTick;
    }

    /// <summary>A pass including the attached sequences starts: their growth (<see cref="GrowthBlocks"/>) has been allocated.</summary>
    public void Launch()
    {
        if (InFlight) throw new InvalidOperationException("a pass of this group is already in flight");
        InFlight = true;
    }

    /// <summary>How many attached sequences the pass in flight (or the next one) brings to their output target.</summary>
    // Implementation note: only replica-group lookahead asks (once per pass); a pass in which nobody finishes does not touch the queue.
    public int FinishingAtNextPass()
    {
        if (_nextFinishTick != Ticks + 1) return 0;
        int n = 0;
        foreach (var (_, tick) in _finishes.UnorderedItems) if (tick == Ticks + 1) n++;
        return n;
    }

    /// <summary>
    /// The group's pass ended at <paramref name="nowNs"/>: every attached sequence advanced by one token; those that reached
    /// their output target are detached, marked finished and added to <paramref name="finished"/>.
    /// </summary>
    public void Complete(long nowNs, List<Sequence> finished)
    {
        if (Count > 0 && !InFlight) throw new InvalidOperationException("the group's attached sequences were not in its pass");
        InFlight = false;
        Ticks++;
        LastPassNs = nowNs;
        if (_nextFinishTick != Ticks) return;
        long tick;
        while (_finishes.TryPeek(out var seq, out tick) && tick == Ticks)
        {
            _finishes.Dequeue();
            Remove(seq);
            seq.State = SequenceState.Finished;
            finished.Add(seq);
        }
        _nextFinishTick = _finishes.TryPeek(out _, out tick) ? tick : long.MaxValue;
    }

    /// <summary>
    /// Detaches every attached sequence of <paramref name="running"/> (the group's running list), leaving each with its
    /// current state as plain values: before a pass the clock cannot count, or when the replica goes down.
    /// </summary>
    public void DetachAll(IReadOnlyList<Sequence> running)
    {
        if (Count == 0)
        {
            InFlight = false;
            return;
        }
        // Each sequence is read off the clock (the pass in flight included) before the clock forgets it.
        for (int i = 0; i < running.Count; i++)
            if (running[i].Clock == this) running[i].DetachClock();
        _finishes.Clear();
        _nextFinishTick = long.MaxValue;
        Array.Clear(_growthByResidue);
        _contextMinusBase = 0;
        Count = 0;
        InFlight = false;
    }

    private void Remove(Sequence seq)
    {
        _growthByResidue[Residue(seq)]--;
        _contextMinusBase -= seq.RawComputedTokens - seq.ClockBase;
        Count--;
        seq.DetachClock();
    }

    // Pass t (t passes done) grows the sequence iff its tokens plus one before the pass, c0 + (t - base) + 1, is a multiple of the block size.
    private int Residue(Sequence seq) => (int)((((seq.ClockBase - seq.RawComputedTokens - 1) % _blockSize) + _blockSize) % _blockSize);
}
