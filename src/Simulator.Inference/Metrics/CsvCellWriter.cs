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
        var bytes = Field(TextBound(value.Length));
        _lastEmpty = value.IsEmpty;
        _used += WriteText(value, bytes);
    }

    /// <summary>The most bytes a text field of <paramref name="length"/> UTF-16 characters takes (every character a quote, doubled, plus the enclosing quotes).</summary>
    public static int TextBound(int length) => Encoding.UTF8.GetMaxByteCount(length) * 2 + 2;

    // Writes a text field into bytes (at least TextBound long): as UTF-8, enclosed in quotes with its quotes doubled when
    // it holds a comma, a quote, CR or LF. Returns the bytes written.
    private static int WriteText(ReadOnlySpan<char> value, Span<byte> bytes)
    {
        if (value.IndexOfAny(NeedsQuotes) < 0) return Encoding.UTF8.GetBytes(value, bytes);
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
        return n;
    }

    /// <summary>
    /// Starts a record written whole through the returned <see cref="Row"/> (no capacity check per cell):
    /// <paramref name="maxBytes"/> bounds its fields (<see cref="Row"/>'s bounds per cell) plus one byte per field.
    /// End it with <see cref="EndRow"/>; cells of <see cref="Text(ReadOnlySpan{char})"/> and the like may not be mixed into it.
    /// </summary>
    // Implementation note: the streamed tables write tens of millions of cells at fleet scale; per cell the cell API
    // checks the capacity, the separator state and (TableWriter) the column's type, and calls through a virtual method.
    // A whole row checks the capacity once: each cell is formatted at the row's position and followed by a comma, and
    // EndRow turns the last comma into the line end.
    public Row BeginRow(int maxBytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fields != 0) throw new InvalidOperationException("a record was started cell by cell and not ended");
        if (_buffer.Length - _used <= maxBytes + 2) MakeRoom(maxBytes + 3);
        return new Row(_buffer.AsSpan(_used, maxBytes + 3));
    }

    /// <summary>Ends a record of <see cref="BeginRow"/>: the bytes of its cells and the line end (a record whose only field is empty as <c>""</c>).</summary>
    public void EndRow(scoped ref Row row)
    {
        if (row.Length == 0) throw new InvalidOperationException("a record needs at least one field");
        var n = row.Length - 1;           // the last field's comma
        var bytes = _buffer.AsSpan(_used);
        if (n == 0)
        {
            bytes[n++] = (byte)'"';
            bytes[n++] = (byte)'"';
        }
        bytes[n++] = (byte)'\n';
        _used += n;
    }

    /// <summary>
    /// One record's cells, written in place into the writer's buffer (<see cref="BeginRow"/>), each followed by a comma.
    /// Bounds per cell: <see cref="MaxIntegerBytes"/>, <see cref="MetricFormat.MaxNsChars"/>, <see cref="MetricFormat.MaxFixedChars"/>, <see cref="TextBound"/>; plus one byte each.
    /// </summary>
    public ref struct Row
    {
        private readonly Span<byte> _bytes;
        private int _n;

        internal Row(Span<byte> bytes) => _bytes = bytes;

        /// <summary>Bytes written so far, the commas included.</summary>
        public readonly int Length => _n;

        /// <summary>An integer field, as <see cref="CsvCellWriter.Integer"/>.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Integer(long value)
        {
            var field = _bytes[_n..];
            int n;
            if (value >= 0) n = MetricFormat.FormatUnsigned(field, (ulong)value);
            else
            {
                field[0] = (byte)'-';
                n = 1 + MetricFormat.FormatUnsigned(field[1..], (ulong)(-(value + 1)) + 1);
            }
            End(n);
        }

        /// <summary>Nanoseconds, as <see cref="CsvCellWriter.Ns"/>; null: an empty field.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Ns(long? ns, int decimals) => End(ns is { } v ? MetricFormat.FormatNsTrimmed(_bytes[_n..], v, decimals) : 0);

        /// <summary>A double, as <see cref="CsvCellWriter.Fixed"/>; null: an empty field.</summary>
        public void Fixed(double? value, int decimals) => End(value is { } v ? MetricFormat.FormatFixedTrimmed(_bytes[_n..], v, decimals) : 0);

        /// <summary>A text field, as <see cref="CsvCellWriter.Text"/>.</summary>
        public void Text(ReadOnlySpan<char> value) => End(WriteText(value, _bytes[_n..]));

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private void End(int written)
        {
            _n += written;
            _bytes[_n++] = (byte)',';
        }
    }

    /// <summary>The most bytes an integer field takes ("-9223372036854775808").</summary>
    public const int MaxIntegerBytes = 20;

    /// <summary>An integer field, invariant ("-12").</summary>
    public void Integer(long value)
    {
        var field = Field(MaxIntegerBytes);
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
