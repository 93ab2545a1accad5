namespace StreamGuard.Text;

/// <summary>RFC 3339 timestamps (with a zone) to and from Unix milliseconds, without allocating.</summary>
public static class Rfc3339
{
    /// <summary>Longest text <see cref="Format"/> writes: <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
    public const int FormattedLength = 24;

    /// <summary>
    /// 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants <see cref="Format"/> can write.
    /// </summary>
    public const long MinUnixMs = -62_135_596_800_000L, MaxUnixMs = 253_402_300_799_999L;

    private static ReadOnlySpan<byte> DaysInMonth => [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

    /// <summary>
    /// Parses <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c>; 't', 'z' and a space for 'T' are accepted as
    /// RFC 3339 allows. Fractions beyond milliseconds are truncated. Leap seconds (:60) are rejected.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out long unixMs)
    {
        DayCache none = default;
        return TryParse(s, ref none, out unixMs);
    }

    /// <summary>
    /// The date of the last timestamp parsed: its ten bytes <c>YYYY-MM-DD</c> and its day number. Timestamps in a
    /// stream mostly fall on the same day as the one before; a date whose bytes equal the cached ones is not parsed
    /// and checked again (they were a valid date). One per caller and thread.
    /// </summary>
    public struct DayCache
    {
        internal ulong Head;  // bytes 0-7
        internal ushort Tail; // bytes 8-9
        internal long Days;   // since 1970-01-01; valid when Known
        internal bool Known;
    }

    /// <summary>
    /// <see cref="TryParse(ReadOnlySpan{byte}, out long)"/>, reusing the date of the last timestamp when its bytes are
    /// the same.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, ref DayCache cache, out long unixMs)
    {
        unixMs = 0;
        if (s.Length < 20) return false;
        ulong head = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s);
        ushort tail = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(s[8..]);
        long days;
        if (cache.Known && head == cache.Head && tail == cache.Tail)
        {
            days = cache.Days;
        }
        else
        {
            if (!Digits(s, 0, 4, out int year) || s[4] != '-' || !Digits(s, 5, 2, out int month) || s[7] != '-' ||
                !Digits(s, 8, 2, out int day))
            {
                return false;
            }
            if (year < 1 || (uint)(month - 1) > 11 || day < 1) return false;
            int dim = DaysInMonth[month - 1];
            if (month == 2 && DateTime.IsLeapYear(year)) dim = 29;
            if (day > dim) return false;
            days = DaysFromCivil(year, month, day);
            cache = new DayCache { Head = head, Tail = tail, Days = days, Known = true };
        }
        if ((s[10] is not ((byte)'T' or (byte)'t' or (byte)' ')) ||
            !Digits(s, 11, 2, out int hour) || s[13] != ':' || !Digits(s, 14, 2, out int minute) || s[16] != ':' ||
            !Digits(s, 17, 2, out int second))
        {
            return false;
        }
        if (hour > 23 || minute > 59 || second > 59) return false;

        int i = 19;
        int millis = 0;
        if (s[i] == '.')
        {
            i++;
            int start = i;
            while ((uint)i < (uint)s.Length && (uint)(s[i] - '0') <= 9)
            {
                int digit = i - start;
                if (digit < 3) millis = millis * 10 + (s[i] - '0');
                i++;
            }
            int n = i - start;
            if (n == 0) return false;
            if (n == 1) millis *= 100;
            else if (n == 2) millis *= 10;
        }
        if ((uint)i >= (uint)s.Length) return false;

        int offsetMinutes;
        byte z = s[i];
        if (z is (byte)'Z' or (byte)'z')
        {
            offsetMinutes = 0;
            i++;
        }
        else if (z is (byte)'+' or (byte)'-')
        {
            if (s.Length - i != 6 || !Digits(s, i + 1, 2, out int oh) || s[i + 3] != ':'
                || !Digits(s, i + 4, 2, out int om) || oh > 23 || om > 59)
            {
                return false;
            }
            offsetMinutes = (oh * 60 + om) * (z == '-' ? -1 : 1);
            i += 6;
        }
        else
        {
            return false;
        }
        if (i != s.Length) return false;

        unixMs = ((days * 86_400L + hour * 3600L + minute * 60L + second - offsetMinutes * 60L) * 1000L) + millis;
        // In UTC the instant must still fall in years 1-9999, or Format could not write it back.
        return unixMs >= MinUnixMs && unixMs <= MaxUnixMs;
    }

    /// <summary>
    /// Writes <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> (UTC). Destination must hold <see cref="FormattedLength"/> bytes.
    /// </summary>
    public static int Format(long unixMs, Span<byte> d)
    {
        long days = Math.DivRem(unixMs, 86_400_000L, out long msOfDay);
        if (msOfDay < 0) { msOfDay += 86_400_000L; days--; }
        CivilFromDays(days, out int y, out int m, out int dd);
        int secOfDay = (int)(msOfDay / 1000);
        int ms = (int)(msOfDay % 1000);
        Write4(d, 0, y); d[4] = (byte)'-'; Write2(d, 5, m); d[7] = (byte)'-'; Write2(d, 8, dd);
        d[10] = (byte)'T'; Write2(d, 11, secOfDay / 3600); d[13] = (byte)':'; Write2(d, 14, secOfDay / 60 % 60);
        d[16] = (byte)':'; Write2(d, 17, secOfDay % 60); d[19] = (byte)'.';
        d[20] = (byte)('0' + ms / 100); d[21] = (byte)('0' + ms / 10 % 10); d[22] = (byte)('0' + ms % 10);
        d[23] = (byte)'Z';
        return FormattedLength;
    }

    /// <summary>Formatted text as a string (cold paths only).</summary>
    public static string ToText(long unixMs)
    {
        Span<byte> buffer = stackalloc byte[FormattedLength];
        Format(unixMs, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer);
    }

    private static void Write2(Span<byte> d, int at, int v)
    {
        d[at] = (byte)('0' + v / 10);
        d[at + 1] = (byte)('0' + v % 10);
    }

    private static void Write4(Span<byte> d, int at, int v)
    {
        Write2(d, at, v / 100 % 100);
        Write2(d, at + 2, v % 100);
    }

    private static bool Digits(ReadOnlySpan<byte> s, int at, int count, out int value)
    {
        value = 0;
        for (int k = 0; k < count; k++)
        {
            uint digit = (uint)(s[at + k] - '0');
            if (digit > 9) return false;
            value = value * 10 + (int)digit;
        }
        return true;
    }

    // Howard Hinnant's civil-calendar algorithms: exact for the proleptic Gregorian calendar.
    private static long DaysFromCivil(int y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    private static void CivilFromDays(long z, out int y, out int m, out int d)
    {
        z += 719468;
        long era = (z >= 0 ? z : z - 146096) / 146097;
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long yy = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        d = (int)(doy - (153 * mp + 2) / 5 + 1);
        m = (int)(mp < 10 ? mp + 3 : mp - 9);
        y = (int)(yy + (m <= 2 ? 1 : 0));
    }
}
