using System.Buffers;
using System.Text;

namespace Simulator.Inference.Metrics;

/// <summary>
/// Writes RFC 4180 CSV as UTF-8 into a buffer of its own and from there to a stream: the streamed run tables'
/// (<see cref="CsvTableWriter"/>) format, comma-separated with LF line ends. A field is enclosed in double quotes only
/// when it holds a comma, a quote, CR or LF (quotes inside are doubled), and a record whose only field is empty is
/// written as <c>""</c> so it is not read as an empty line: the bytes CsvHelper's writer gives with
/// <c>NewLine = "\n"</c> and its other defaults (no byte order mark; invalid UTF-16 becomes U+FFFD).
/// </summary>
// Implementation note: a cell through CsvHelper's WriteField cost ~110 instructions on top of its formatting (the
// Azure replay writes about two million); numbers here are formatted straight into the output buffer (they never need
// quotes), and text is checked for the four characters that need quotes with one vectorised search.
internal sealed class CsvCellWriter : IDisposable
{
    private const int BufferBytes = 1 << 16;
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(",\"\r\n");

    private readonly Stream _stream;
    private byte[] _buffer = new byte[BufferBytes];
    private int _used;
    private int _fields;
    private bool _lastEmpty;
    private bool _disposed;

    /// <summary>Writes to <paramref name="stream"/>, which the writer owns and closes.</summary>
    public CsvCellWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
    }

    /// <summary>A text field, quoted when it needs quotes.</summary>
    public void Text(ReadOnlySpan<char> value)
    {
        var bytes = Field(Encoding.UTF8.GetMaxByteCount(value.Length) * 2 + 2);
        _lastEmpty = value.IsEmpty;
        if (value.IndexOfAny(NeedsQuotes) < 0)
        {
            _used += Encoding.UTF8.GetBytes(value, bytes);
            return;
        }
        var n = 0;
        bytes[n++] = (byte)'"';
        while (true)
        {
            var quote = value.IndexOf('"');
            var part = quote < 0 ? value : value[..(quote + 1)];
            n += Encoding.UTF8.GetBytes(part, bytes[n..]);
            if (quote < 0) break;
            bytes[n++] = (byte)'"';
            value = value[(quote + 1)..];
        }
        bytes[n++] = (byte)'"';
        _used += n;
    }

    /// <summary>An integer field, invariant ("-12").</summary>
    public void Integer(long value)
    {
        var field = Field(20);
        if (value >= 0)
        {
            Commit(MetricFormat.FormatUnsigned(field, (ulong)value));
            return;
        }
        field[0] = (byte)'-';
        Commit(1 + MetricFormat.FormatUnsigned(field[1..], (ulong)(-(value + 1)) + 1));
    }

    /// <summary>Nanoseconds as seconds (<paramref name="decimals"/> 6) or ms (3) to the microsecond, trailing zeros dropped (<see cref="MetricFormat.FormatNsTrimmed{T}"/>).</summary>
    public void Ns(long ns, int decimals) => Commit(MetricFormat.FormatNsTrimmed(Field(MetricFormat.MaxNsChars), ns, decimals));

    /// <summary>A double with <paramref name="decimals"/> decimals, trailing zeros dropped (<see cref="MetricFormat.FormatFixedTrimmed(Span{byte}, double, int)"/>).</summary>
    public void Fixed(double value, int decimals) => Commit(MetricFormat.FormatFixedTrimmed(Field(MetricFormat.MaxFixedChars), value, decimals));

    /// <summary>An empty field.</summary>
    public void Empty()
    {
        Field(0);
        _lastEmpty = true;
    }

    /// <summary>Ends the record.</summary>
    public void EndRecord()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fields == 0) throw new InvalidOperationException("a record needs at least one field");
        var end = Reserve(3);
        var n = 0;
        if (_fields == 1 && _lastEmpty)
        {
            end[n++] = (byte)'"';
            end[n++] = (byte)'"';
        }
        end[n++] = (byte)'\n';
        _used += n;
        _fields = 0;
    }

    /// <summary>Writes what is buffered (a record not ended too: an aborted run's file is deleted) and closes the stream.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            Flush();
        }
        finally
        {
            _stream.Dispose();
        }
    }

    // Starts a field: its separator, then the rest of the buffer, at least maxBytes.
    // Implementation note: one capacity check and one span per cell (about two million of them in the Azure replay);
    // the rare flush is out of line.
    private Span<byte> Field(int maxBytes)
    {
        if (_buffer.Length - _used <= maxBytes) MakeRoom(maxBytes + 1);
        if (_fields++ != 0) _buffer[_used++] = (byte)',';
        _lastEmpty = false;
        return _buffer.AsSpan(_used);
    }

    private void Commit(int bytes) => _used += bytes;

    private Span<byte> Reserve(int bytes)
    {
        if (_buffer.Length - _used < bytes) MakeRoom(bytes);
        return _buffer.AsSpan(_used, bytes);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void MakeRoom(int bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Flush();
        if (_buffer.Length < bytes) _buffer = new byte[bytes];
    }

    private void Flush()
    {
        if (_used == 0) return;
        _stream.Write(_buffer, 0, _used);
        _used = 0;
    }
}
