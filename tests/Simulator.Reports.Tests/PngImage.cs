using System.Buffers.Binary;
using System.IO.Compression;

namespace Simulator.Reports.Tests;

/// <summary>A minimal PNG decoder (8-bit RGB / RGBA, non-interlaced: what Chromium and SkiaSharp write) for checking screenshots and charts.</summary>
internal sealed class PngImage
{
    public int Width { get; private init; }
    public int Height { get; private init; }
    private byte[] _pixels = Array.Empty<byte>();
    private int _channels;

    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        var i = (y * Width + x) * _channels;
        return (_pixels[i], _pixels[i + 1], _pixels[i + 2]);
    }

    /// <summary>Share of pixels (sampled every <paramref name="step"/>-th row and column) darker than near-white.</summary>
    public double InkedFraction(int step = 4)
    {
        int inked = 0, total = 0;
        for (var y = 0; y < Height; y += step)
            for (var x = 0; x < Width; x += step)
            {
                total++;
                var (r, g, b) = Pixel(x, y);
                if (r < 235 || g < 235 || b < 235) inked++;
            }
        return total == 0 ? 0 : (double)inked / total;
    }

    /// <summary>Number of distinct RGB colours among the pixels (sampled every <paramref name="step"/>-th row and column).</summary>
    public int DistinctColours(int step = 2)
    {
        var seen = new HashSet<int>();
        for (var y = 0; y < Height; y += step)
            for (var x = 0; x < Width; x += step)
            {
                var (r, g, b) = Pixel(x, y);
                seen.Add(r << 16 | g << 8 | b);
            }
        return seen.Count;
    }

    public static PngImage Load(string path)
    {
        var data = File.ReadAllBytes(path);
        if (data.Length < 8 || data[0] != 0x89 || data[1] != (byte)'P') throw new InvalidDataException("not a PNG");
        int width = 0, height = 0, colorType = 0;
        var idat = new MemoryStream();
        for (var pos = 8; pos + 8 <= data.Length;)
        {
            var len = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(data, pos + 4, 4);
            var body = data.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(body);
                height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                if (body[8] != 8 || body[12] != 0) throw new InvalidDataException("only 8-bit non-interlaced PNGs");
                colorType = body[9];
            }
            else if (type == "IDAT") idat.Write(body);
            else if (type == "IEND") break;
            pos += 12 + len;
        }
        var channels = colorType switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException($"colour type {colorType} not supported") };
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var src = raw.ToArray();
        var stride = width * channels;
        var pixels = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = src[y * (stride + 1)];
            for (var x = 0; x < stride; x++)
            {
                int a = x >= channels ? pixels[y * stride + x - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
                int v = src[y * (stride + 1) + 1 + x];
                v += filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                pixels[y * stride + x] = (byte)v;
            }
        }
        return new PngImage { Width = width, Height = height, _pixels = pixels, _channels = channels };
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
