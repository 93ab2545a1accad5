using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using StreamGuard.Events;
using StreamGuard.Policy;
using StreamGuard.Security;
using StreamGuard.Text;

namespace StreamGuard.Generation;

/// <summary>
/// Realistic synthetic plate reads and signed queries over a policy's agencies: bursty cameras, repeat
/// vehicles, queries with every purpose by owners and by other (out-of-state, federal, private) agencies,
/// and a chosen share of malformed lines. Deterministic for a seed and the same sequence of timestamps.
/// </summary>
public sealed partial class SyntheticTraffic
{
    private static readonly string[] s_makes =
        ["TOYOTA", "HONDA", "FORD", "CHEVROLET", "NISSAN", "TESLA", "SUBARU", "KIA"];
    private static readonly string[] s_colors = ["SILVER", "BLACK", "WHITE", "BLUE", "RED", "GRAY"];
    private static readonly string[] s_types = ["SEDAN", "SUV", "PICKUP", "VAN", "HATCHBACK"];

    private readonly Random _random;
    private readonly TrafficOptions _options;
    private readonly AgencyConfig[] _owners;      // agencies with cameras (not federal, not private)
    private readonly AgencyConfig[] _requesters;  // agencies with a signing key
    private readonly string[] _plates;
    private readonly (int Plate, int Owner)[] _recent = new (int, int)[4096];
    private int _recentCount;
    private long _readSeq;
    private long _querySeq;
    private int _burstCamera = -1;
    private int _burstLeft;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly Random _hotlistRandom;
    private readonly AgencyConfig[] _hotlistOwners;
    private long _hotlistSeq;

    private static readonly (Purpose Purpose, double Weight)[] s_hotlistPurposes =
    [
        (Purpose.StolenVehicle, 0.40), (Purpose.CriminalInvestigation, 0.20), (Purpose.Warrant, 0.12),
        (Purpose.MissingPerson, 0.10), (Purpose.AmberAlert, 0.05), (Purpose.ImmigrationEnforcement, 0.08),
        (Purpose.CivilEnforcement, 0.05),
    ];

    public SyntheticTraffic(PolicyDocument policy, TrafficOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
        // Retired agencies own, ask and list nothing new (their events would be unknown_agency).
        _owners = policy.Agencies
            .Where(a => !a.Retired && a.Level is not (AgencyLevel.Federal or AgencyLevel.Private)).ToArray();
        if (_owners.Length == 0)
        {
            throw new ArgumentException("the policy has no agency that can own cameras", nameof(policy));
        }
        _requesters = policy.Agencies.Where(a => a.Key is not null).ToArray();
        _plates = new string[Math.Max(1, options.Vehicles)];
        for (int i = 0; i < _plates.Length; i++) _plates[i] = RandomPlate();
        _writer = new Utf8JsonWriter(_buffer,
            new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        // Its own random stream: adding hotlists to a run leaves its reads and queries as they were.
        _hotlistRandom = new Random(options.Seed ^ 0x5EED);
        _hotlistOwners = [.. policy.Agencies.Where(a => !a.Retired)];
    }

    /// <summary>The Kafka key of the last hotlist entry written: <c>hotlist_id/plate</c>.</summary>
    public string? LastHotlistKey { get; private set; }

    /// <summary>
    /// Writes one hotlist entry line for a vehicle that cameras see often (so entries hit), owned by any agency of
    /// the policy — federal ones included, whose alerts on state data the statutes deny — expiring 1–30 days
    /// after <paramref name="nowMs"/>.
    /// </summary>
    public ReadOnlyMemory<byte> NextHotlist(long nowMs)
    {
        AgencyConfig owner = _hotlistOwners[_hotlistRandom.Next(_hotlistOwners.Length)];
        double pick = _hotlistRandom.NextDouble() * s_hotlistPurposes.Sum(p => p.Weight);
        Purpose purpose = s_hotlistPurposes[^1].Purpose;
        foreach (var (p, weight) in s_hotlistPurposes)
        {
            if ((pick -= weight) < 0) { purpose = p; break; }
        }
        string plate = _plates[_hotlistRandom.Next(Math.Max(1, _plates.Length / 5))];
        string hotlistId = $"{owner.Id}-{Purposes.Name(purpose).Replace('_', '-')}-{++_hotlistSeq:d4}";
        LastHotlistKey = $"{hotlistId}/{plate}";
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("hotlist_id", hotlistId);
        _writer.WriteString("owner", owner.Id);
        _writer.WriteString("plate", plate);
        _writer.WriteString("purpose", Purposes.Name(purpose));
        if (_hotlistRandom.NextDouble() < 0.9)
        {
            _writer.WriteString("case_number",
                $"{owner.Id.ToUpperInvariant()}-26-{_hotlistRandom.Next(1, 99999):d5}");
        }
        _writer.WriteString("expires_at",
            Rfc3339.ToText(nowMs + (long)TimeSpan.FromDays(1 + _hotlistRandom.Next(30)).TotalMilliseconds));
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    /// <summary>The normalised plate of the last event written (its Kafka key), or null for a bad line.</summary>
    public string? LastPlate { get; private set; }

    /// <summary>Writes one plate-read line (without newline) observed at <paramref name="observedAtMs"/>.</summary>
    public ReadOnlyMemory<byte> NextRead(long observedAtMs)
    {
        LastPlate = null;
        if (_random.NextDouble() < _options.MalformedShare) return BadRead(observedAtMs);

        // Bursty cameras: a camera emits a run of reads (a platoon of cars), then another takes over.
        if (_burstLeft-- <= 0)
        {
            _burstCamera = _random.Next(_owners.Length * _options.CamerasPerAgency);
            _burstLeft = 1 + (int)(-Math.Log(1 - _random.NextDouble()) * 12);
        }
        AgencyConfig owner = _owners[_burstCamera / _options.CamerasPerAgency];
        int plate = PickVehicle();
        Remember(plate, _burstCamera / _options.CamerasPerAgency);
        LastPlate = _plates[plate];

        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("read_id", $"r{_options.Seed:x}-{++_readSeq:x8}");
        _writer.WriteString("camera_id", $"{owner.Id}-cam-{_burstCamera % _options.CamerasPerAgency:d4}");
        _writer.WriteString("agency_id", owner.Id);
        _writer.WriteString("plate", _plates[plate]);
        _writer.WriteString("plate_state", owner.State ?? "US");
        _writer.WriteNumber("confidence", Math.Round(0.80 + _random.NextDouble() * 0.2, 3));
        _writer.WriteString("observed_at", Rfc3339.ToText(observedAtMs));
        _writer.WriteNumber("lat", Math.Round(25 + _random.NextDouble() * 23, 5));
        _writer.WriteNumber("lon", Math.Round(-124 + _random.NextDouble() * 57, 5));
        _writer.WriteStartObject("vehicle");
        _writer.WriteString("make", s_makes[_random.Next(s_makes.Length)]);
        _writer.WriteString("color", s_colors[_random.Next(s_colors.Length)]);
        _writer.WriteString("type", s_types[_random.Next(s_types.Length)]);
        _writer.WriteEndObject();
        _writer.WriteString("image_uri", $"https://evidence.example/{owner.Id}/{_readSeq:x8}.jpg");
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    /// <summary>Writes one signed query line issued at <paramref name="issuedAtMs"/>.</summary>
    public ReadOnlyMemory<byte> NextQuery(long issuedAtMs)
    {
        if (_requesters.Length == 0) throw new InvalidOperationException("no agency of the policy has a signing key");
        LastPlate = null;
        bool bad = _random.NextDouble() < _options.MalformedShare;
        if (bad && _random.Next(2) == 0) return BadQuery(issuedAtMs);

        // Most searches are an agency looking for a vehicle its own cameras saw; the rest come from others.
        int plate;
        AgencyConfig requester;
        if (_recentCount > 0 && _random.NextDouble() < 0.8)
        {
            var (p, owner) = _recent[_random.Next(Math.Min(_recentCount, _recent.Length))];
            plate = p;
            AgencyConfig ownerAgency = _owners[owner];
            requester = ownerAgency.Key is not null && _random.NextDouble() < 0.6
                ? ownerAgency
                : _requesters[_random.Next(_requesters.Length)];
        }
        else
        {
            plate = PickVehicle();
            requester = _requesters[_random.Next(_requesters.Length)];
        }
        Purpose purpose = (Purpose)_random.Next(Purposes.Count);
        string queryId = $"q{_options.Seed:x}-{++_querySeq:x8}";
        string user = $"officer{_random.Next(1, 400):d3}";
        string? caseNumber = _random.NextDouble() < 0.97
            ? $"{requester.Id.ToUpperInvariant()}-26-{_random.Next(1, 99999):d5}"
            : null;
        string reason = $"{Purposes.Name(purpose).Replace('_', ' ')} case";
        string to = Rfc3339.ToText(issuedAtMs);
        string from = Rfc3339.ToText(
            issuedAtMs - (long)TimeSpan.FromDays(_random.NextDouble() < 0.98 ? 30 : 400).TotalMilliseconds);
        string issued = to;
        string signature = QuerySignature.Sign(requester.Key!, queryId, requester.Id, user, Purposes.Name(purpose),
            caseNumber, _plates[plate], from, to, issued);
        if (bad) signature = "AAAA" + signature[4..]; // a forged signature: denied, not dead-lettered

        LastPlate = _plates[plate];
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("query_id", queryId);
        _writer.WriteString("requester", requester.Id);
        _writer.WriteString("user", user);
        _writer.WriteString("purpose", Purposes.Name(purpose));
        if (caseNumber is not null) _writer.WriteString("case_number", caseNumber);
        _writer.WriteString("reason", reason);
        _writer.WriteString("plate", _plates[plate]);
        _writer.WriteString("from", from);
        _writer.WriteString("to", to);
        _writer.WriteString("issued_at", issued);
        _writer.WriteString("signature", signature);
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    private int PickVehicle()
    {
        // Skewed: a fifth of the vehicles make most of the reads (commuters), the rest appear rarely.
        return _random.NextDouble() < 0.7
            ? _random.Next(Math.Max(1, _plates.Length / 5))
            : _random.Next(_plates.Length);
    }

    private void Remember(int plate, int owner)
    {
        _recent[_recentCount % _recent.Length] = (plate, owner);
        _recentCount++;
    }

    private string RandomPlate()
    {
        const string symbols = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
        Span<char> text = stackalloc char[7];
        for (int i = 0; i < text.Length; i++) text[i] = symbols[_random.Next(symbols.Length)];
        return new string(text);
    }
}
