using StreamGuard.Events;
using StreamGuard.Text;

namespace StreamGuard.Parsing;

/// <summary>
/// The checks on each event type's values, after its members were collected (by the scanner or the reader), in
/// one order for every type: a repeated member, then missing required members, then the first member of the wrong
/// type, then each value in member order. The first failure is the event's rejection.
/// </summary>
public sealed partial class EventParser
{
    internal ParseResult ValidateRead(ref EventMembers m, out PlateRead read)
    {
        read = default;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if (!m.Has(ReadMember.ReadId)) return Rejections.Missing("read_id");
        if (!m.Has(ReadMember.AgencyId)) return Rejections.Missing("agency_id");
        if (!m.Has(ReadMember.Plate)) return Rejections.Missing("plate");
        if (!m.Has(ReadMember.ObservedAt)) return Rejections.Missing("observed_at");
        if (!first.IsOk) return first;
        Utf8Range readId = m.Range(ReadMember.ReadId), camera = m.Range(ReadMember.CameraId);
        double confidence = m.Number(ReadMember.Confidence), lat = m.Number(ReadMember.Lat);
        double lon = m.Number(ReadMember.Lon);
        // Characters never outnumber bytes: only an id over 64 bytes needs counting.
        if (readId.Length == 0 || (readId.Length > 64 && CharacterCount(Text(readId)) > 64))
        {
            return Rejections.Invalid("read_id", "must be 1-64 characters");
        }
        if (!Plate.TryPack(Text(m.Range(ReadMember.Plate)), out ulong packed)) return Rejections.BadPlate();
        if (!Rfc3339.TryParse(Text(m.Range(ReadMember.ObservedAt)), ref _observedDay, out long observedMs))
        {
            return Rejections.BadTimestamp("observed_at");
        }
        if (!double.IsNaN(confidence) && !(confidence >= 0 && confidence <= 1))
        {
            return Rejections.Invalid("confidence", "must be in [0,1]");
        }
        if (!double.IsNaN(lat) && !(lat >= -90 && lat <= 90)) return Rejections.Invalid("lat", "must be in [-90,90]");
        if (!double.IsNaN(lon) && !(lon >= -180 && lon <= 180))
        {
            return Rejections.Invalid("lon", "must be in [-180,180]");
        }
        int owner = _agencies.Find(Text(m.Range(ReadMember.AgencyId)));
        if (owner < 0) return Rejections.UnknownAgency("agency_id");
        if (camera.Length > MaxCameraIdBytes) return Rejections.Invalid("camera_id", "longer than 128 bytes");
        // A full interner never rejects a read: the camera is simply not interned (-1).
        int cameraId = -1;
        if (!camera.IsEmpty && !_cameras.TryIntern(Text(camera), out cameraId)) cameraId = -1;

        read = new PlateRead
        {
            ReadId = readId, Camera = cameraId, Owner = owner, Plate = packed, ObservedAtMs = observedMs,
            PlateState = m.Range(ReadMember.PlateState), Confidence = confidence, Lat = lat, Lon = lon,
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateQuery(ref EventMembers m, out Query query)
    {
        query = default;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if (!m.Has(QueryMember.QueryId)) return Rejections.Missing("query_id");
        if (!m.Has(QueryMember.Requester)) return Rejections.Missing("requester");
        if (!m.Has(QueryMember.User)) return Rejections.Missing("user");
        if (!m.Has(QueryMember.Purpose)) return Rejections.Missing("purpose");
        if (!m.Has(QueryMember.Plate)) return Rejections.Missing("plate");
        if (!m.Has(QueryMember.IssuedAt)) return Rejections.Missing("issued_at");
        if (!first.IsOk) return first;
        Utf8Range queryId = m.Range(QueryMember.QueryId), user = m.Range(QueryMember.User);
        Utf8Range purpose = m.Range(QueryMember.Purpose), plate = m.Range(QueryMember.Plate);
        Utf8Range from = m.Range(QueryMember.From), to = m.Range(QueryMember.To);
        Utf8Range issued = m.Range(QueryMember.IssuedAt);
        if (queryId.Length == 0 || CharacterCount(Text(queryId)) > 128)
        {
            return Rejections.Invalid("query_id", "must be 1-128 characters");
        }
        if (user.IsEmpty) return Rejections.Invalid("user", "must not be empty");
        if (!Purposes.TryParse(Text(purpose), out Purpose p)) return Rejections.UnknownPurpose();
        if (!Plate.TryPack(Text(plate), out ulong packed)) return Rejections.BadPlate();
        if (!Rfc3339.TryParse(Text(issued), ref _issuedDay, out long issuedMs))
        {
            return Rejections.BadTimestamp("issued_at");
        }
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if (m.Has(QueryMember.From) && !Rfc3339.TryParse(Text(from), out fromMs))
        {
            return Rejections.BadTimestamp("from");
        }
        if (m.Has(QueryMember.To) && !Rfc3339.TryParse(Text(to), out toMs)) return Rejections.BadTimestamp("to");
        if (fromMs > toMs) return Rejections.Invalid("from", "is after 'to'");
        Utf8Range requester = m.Range(QueryMember.Requester);

        query = new Query
        {
            QueryId = queryId, Requester = _agencies.Find(Text(requester)), RequesterText = requester, User = user,
            Purpose = p, PurposeText = purpose, CaseNumber = m.Range(QueryMember.CaseNumber),
            Reason = m.Range(QueryMember.Reason), Plate = packed, PlateText = plate, FromMs = fromMs, ToMs = toMs,
            FromText = from, ToText = to, IssuedAtMs = issuedMs, IssuedAtText = issued,
            Signature = m.Range(QueryMember.Signature),
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateHotlist(ref EventMembers m, out HotlistEntry entry)
    {
        entry = default;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if (!m.Has(HotlistMember.HotlistId)) return Rejections.Missing("hotlist_id");
        if (!m.Has(HotlistMember.Owner)) return Rejections.Missing("owner");
        if (!m.Has(HotlistMember.Plate)) return Rejections.Missing("plate");
        if (!m.Has(HotlistMember.Purpose)) return Rejections.Missing("purpose");
        if (!first.IsOk) return first;
        Utf8Range hotlistId = m.Range(HotlistMember.HotlistId);
        if (hotlistId.Length == 0 || CharacterCount(Text(hotlistId)) > 128)
        {
            return Rejections.Invalid("hotlist_id", "must be 1-128 characters");
        }
        if (!Plate.TryPack(Text(m.Range(HotlistMember.Plate)), out ulong packed)) return Rejections.BadPlate();
        if (!Purposes.TryParse(Text(m.Range(HotlistMember.Purpose)), out Purpose p)) return Rejections.UnknownPurpose();
        long expiresMs = long.MaxValue;
        if (m.Has(HotlistMember.ExpiresAt) && !Rfc3339.TryParse(Text(m.Range(HotlistMember.ExpiresAt)), out expiresMs))
        {
            return Rejections.BadTimestamp("expires_at");
        }
        int ownerId = _agencies.Find(Text(m.Range(HotlistMember.Owner)));
        if (ownerId < 0) return Rejections.UnknownAgency("owner");

        entry = new HotlistEntry
        {
            HotlistId = hotlistId, Owner = ownerId, Plate = packed, Purpose = p,
            CaseNumber = m.Range(HotlistMember.CaseNumber), ExpiresAtMs = expiresMs,
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateHold(ref EventMembers m, out Hold hold)
    {
        hold = default;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if (!m.Has(HoldMember.HoldId)) return Rejections.Missing("hold_id");
        if (!m.Has(HoldMember.Agency)) return Rejections.Missing("agency");
        if (!m.Has(HoldMember.Kind)) return Rejections.Missing("kind");
        if (!m.Has(HoldMember.Until)) return Rejections.Missing("until");
        if (!first.IsOk) return first;
        Utf8Range holdId = m.Range(HoldMember.HoldId);
        if (holdId.Length == 0 || CharacterCount(Text(holdId)) > 128)
        {
            return Rejections.Invalid("hold_id", "must be 1-128 characters");
        }
        ulong packed = 0;
        if (m.Has(HoldMember.Plate) && !Plate.TryPack(Text(m.Range(HoldMember.Plate)), out packed))
        {
            return Rejections.BadPlate();
        }
        HoldKind holdKind;
        ReadOnlySpan<byte> k = Text(m.Range(HoldMember.Kind));
        if (k.SequenceEqual("investigation"u8)) holdKind = HoldKind.Investigation;
        else if (k.SequenceEqual("preservation"u8)) holdKind = HoldKind.Preservation;
        else if (k.SequenceEqual("warrant"u8)) holdKind = HoldKind.Warrant;
        else return Rejections.Invalid("kind", "must be investigation, preservation or warrant");
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if (m.Has(HoldMember.From) && !Rfc3339.TryParse(Text(m.Range(HoldMember.From)), out fromMs))
        {
            return Rejections.BadTimestamp("from");
        }
        if (m.Has(HoldMember.To) && !Rfc3339.TryParse(Text(m.Range(HoldMember.To)), out toMs))
        {
            return Rejections.BadTimestamp("to");
        }
        if (fromMs > toMs) return Rejections.Invalid("from", "is after 'to'");
        if (!Rfc3339.TryParse(Text(m.Range(HoldMember.Until)), out long untilMs))
        {
            return Rejections.BadTimestamp("until");
        }
        int agencyId = _agencies.Find(Text(m.Range(HoldMember.Agency)));
        if (agencyId < 0) return Rejections.UnknownAgency("agency");

        hold = new Hold
        {
            HoldId = holdId, Agency = agencyId, Plate = packed, FromMs = fromMs, ToMs = toMs, Kind = holdKind,
            CaseNumber = m.Range(HoldMember.CaseNumber), UntilMs = untilMs,
        };
        return ParseResult.Ok;
    }

    /// <summary>Characters (Unicode scalar values) in valid UTF-8: the bytes that do not continue a sequence.</summary>
    private static int CharacterCount(ReadOnlySpan<byte> utf8)
    {
        int count = 0;
        foreach (byte b in utf8)
        {
            if ((b & 0xC0) != 0x80) count++;
        }
        return count;
    }
}
