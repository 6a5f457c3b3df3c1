using System.Globalization;

namespace Simulator.Inference.Workload;

/// <summary>
/// Multi-turn sessions of the synthetic generator (scenario key <c>workload.sessions</c>). The arrival process
/// starts sessions; each has <see cref="Turns"/> requests, turn k arriving <see cref="ThinkTimeS"/> seconds after
/// turn k-1 arrived (an open loop: the workload is generated before it is served, so it cannot wait for the
/// answer). Turn k's prompt is turn k-1's prompt, its output and the new user tokens drawn from
/// <c>input_tokens</c>; every output is drawn from <c>output_tokens</c>.
/// </summary>
public sealed record SessionSpec(int Turns, double ThinkTimeS)
{
    /// <summary>Throws <see cref="ArgumentException"/> when a parameter is out of range.</summary>
    public void Validate()
    {
        if (Turns < 1) throw new ArgumentException($"sessions.turns must be >= 1, got {Turns}");
        if (!(ThinkTimeS >= 0) || double.IsInfinity(ThinkTimeS)) throw new ArgumentException($"sessions.think_time_s must be a finite number >= 0, got {ThinkTimeS}");
    }
}

// Requests with prefix structure: a shared system prompt and/or sessions.
public sealed partial class SyntheticWorkloadSource
{
    /// <summary>Tokens covered by one synthetic prefix id (vLLM's default KV block size, so sharing is exact to 16 tokens).</summary>
    public const int PrefixIdTokens = 16;

    /// <summary>
    /// Requests with prefix ids. Every token stream (a session, or a lone request) is cut into chunks of
    /// <see cref="PrefixIdTokens"/> tokens: the chunks wholly inside the shared system prompt get ids common to every
    /// request; every other chunk gets an id of its stream (derived from the seed), the same in every turn of a
    /// session, because a later turn's prompt extends the earlier turn's prompt and output. A request's ids cover its
    /// prompt and output, so the output's KV can be reused by the next turn (as vLLM caches decoded blocks).
    /// Requests are yielded in arrival order (ties: the earlier session first); ids are 0, 1, ... in that order.
    /// </summary>
    private IEnumerable<Request> ReadStructured()
    {
        var (arrivals, inputs, outputs, limit, endS) = Streams();
        int turns = Spec.Sessions?.Turns ?? 1;
        long thinkNs = (long)Math.Round((Spec.Sessions?.ThinkTimeS ?? 0) * 1e9, MidpointRounding.ToEven);
        long endNs = double.IsPositiveInfinity(endS) ? long.MaxValue : (long)Math.Round(endS * 1e9, MidpointRounding.ToEven);
        bool sessions = Spec.Sessions != null;
        ulong sharedKey = StreamKey("shared", 0);
        var pending = new PriorityQueue<SessionState, (long TimeNs, long Session)>();
        long emitted = 0, started = 0;
        bool moreSessions = true;
        arrivals.MoveNext();
        while (emitted < limit)
        {
            double nextStartS = arrivals.Current;
            moreSessions &= nextStartS < endS;
            long nextStartNs = moreSessions ? (long)Math.Round(nextStartS * 1e9, MidpointRounding.ToEven) : long.MaxValue;
            if (pending.TryPeek(out var first, out var at) && at.TimeNs <= nextStartNs)
            {
                pending.Dequeue();
                yield return first.NextRequest(emitted++, at.TimeNs, sessions, sharedKey, Spec.SharedPrefixTokens);
                if (first.Turn < first.Inputs.Length)
                {
                    long t = at.TimeNs + thinkNs;
                    if (t < endNs) pending.Enqueue(first, (t, first.Index));
                }
                continue;
            }
            if (!moreSessions) yield break;
            // A new session: its lengths are drawn now, in session order, so the draws do not depend on interleaving.
            var s = new SessionState(started, sessions ? StreamKey("session", started) : 0, turns);
            for (int k = 0; k < turns; k++) { s.Inputs[k] = inputs(); s.Outputs[k] = outputs(); }
            pending.Enqueue(s, (nextStartNs, started));
            started++;
            arrivals.MoveNext();
        }
    }

    private ulong StreamKey(string kind, long index)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in kind) h = (h ^ c) * 0x100000001B3UL;
        return Scramble(h ^ Scramble((ulong)_seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1)));
    }

    private static ulong Scramble(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>One session (or, without sessions, one lone request): its stream key, lengths and progress.</summary>
    private sealed class SessionState(long index, ulong key, int turns)
    {
        public long Index { get; } = index;
        public ulong Key { get; } = key;
        public int[] Inputs { get; } = new int[turns];
        public int[] Outputs { get; } = new int[turns];
        public int Turn { get; private set; }

        /// <summary>Tokens of the session's stream before this turn's new user tokens (earlier prompts and outputs).</summary>
        private long _historyTokens;

        public Request NextRequest(long id, long arrivalNs, bool sessions, ulong sharedKey, int sharedTokens)
        {
            int k = Turn++;
            long prompt = sharedTokens + _historyTokens + Inputs[k];
            if (prompt > int.MaxValue) throw new ArgumentException($"session {Index}: turn {k} has a {prompt}-token prompt, more than the simulator holds");
            _historyTokens += Inputs[k] + Outputs[k];
            // Lone requests are streams of their own: key by the request id.
            ulong stream = sessions ? Key : Scramble(sharedKey ^ (0x632BE59BD9B4E019UL * (ulong)(id + 1)));
            long covered = prompt + Outputs[k];
            int chunks = (int)((covered + PrefixIdTokens - 1) / PrefixIdTokens);
            int sharedChunks = sharedTokens / PrefixIdTokens;
            var ids = new long[chunks];
            for (int c = 0; c < chunks; c++)
                ids[c] = (long)Scramble((c < sharedChunks ? sharedKey : stream) + 0x9E3779B97F4A7C15UL * (ulong)(c + 1));
            return new Request(id, arrivalNs, (int)prompt, Outputs[k], ids, PrefixIdTokens,
                sessions ? Index.ToString(CultureInfo.InvariantCulture) : null);
        }
    }
}
