using StreamGuard.Events;
using StreamGuard.Text;

namespace StreamGuard.Parsing;

/// <summary>
/// The checks on each event type's values, after its members were collected (by the scanner or the reader), in
/// one order for every type: a repeated member, then missing required members, then the first member of the wrong
/// type, then each value in member order. The first failure is the event's rejection.
/// </summary>
/// <remarks>
/// A member's slot <c>(int)ReadMember.X</c> and bit <c>1u &lt;&lt; (int)ReadMember.X</c> are C# constants, not
/// accessor calls: each call the JIT inlines here spends the budget that also inlines the agency and camera
/// lookups' hash.
/// </remarks>
internal sealed partial class EventParser
{
    internal ParseResult ValidateRead(ref EventMembers m, out PlateRead read)
    {
        read = default;
        Utf8Range readId = m.Str[(int)ReadMember.ReadId], camera = m.Str[(int)ReadMember.CameraId];
        Utf8Range agency = m.Str[(int)ReadMember.AgencyId], plate = m.Str[(int)ReadMember.Plate];
        Utf8Range observed = m.Str[(int)ReadMember.ObservedAt], plateState = m.Str[(int)ReadMember.PlateState];
        double confidence = m.Num[(int)ReadMember.Confidence], lat = m.Num[(int)ReadMember.Lat];
        double lon = m.Num[(int)ReadMember.Lon];
        uint seen = m.Seen;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if ((seen & 1u << (int)ReadMember.ReadId) == 0) return Rejections.Missing("read_id");
        if ((seen & 1u << (int)ReadMember.AgencyId) == 0) return Rejections.Missing("agency_id");
        if ((seen & 1u << (int)ReadMember.Plate) == 0) return Rejections.Missing("plate");
        if ((seen & 1u << (int)ReadMember.ObservedAt) == 0) return Rejections.Missing("observed_at");
        if (!first.IsOk) return first;
        // Characters never outnumber bytes: only an id over 64 bytes needs counting.
        if (readId.Length == 0 || (readId.Length > 64 && CharacterCount(Text(readId)) > 64))
        {
            return Rejections.Invalid("read_id", "must be 1-64 characters");
        }
        if (!Plate.TryPack(Text(plate), out ulong packed)) return Rejections.BadPlate();
        if (!Rfc3339.TryParse(Text(observed), ref _observedDay, out long observedMs))
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
        int owner = _retiredOwnersKnown ? _agencies.FindAny(Text(agency)) : _agencies.Find(Text(agency));
        if (owner < 0) return Rejections.UnknownAgency("agency_id");
        if (camera.Length > MaxCameraIdBytes) return Rejections.Invalid("camera_id", "longer than 128 bytes");
        // A full interner never rejects a read: the camera is simply not interned (-1).
        int cameraId = -1;
        if (!camera.IsEmpty && !_cameras.TryIntern(Text(camera), out cameraId)) cameraId = -1;

        read = new PlateRead
        {
            ReadId = readId, Camera = cameraId, Owner = owner, Plate = packed, ObservedAtMs = observedMs,
            PlateState = plateState, Confidence = confidence, Lat = lat, Lon = lon,
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateQuery(ref EventMembers m, out Query query)
    {
        query = default;
        Utf8Range queryId = m.Str[(int)QueryMember.QueryId], requester = m.Str[(int)QueryMember.Requester];
        Utf8Range user = m.Str[(int)QueryMember.User], purpose = m.Str[(int)QueryMember.Purpose];
        Utf8Range caseNumber = m.Str[(int)QueryMember.CaseNumber], reason = m.Str[(int)QueryMember.Reason];
        Utf8Range plate = m.Str[(int)QueryMember.Plate], from = m.Str[(int)QueryMember.From];
        Utf8Range to = m.Str[(int)QueryMember.To], issued = m.Str[(int)QueryMember.IssuedAt];
        Utf8Range signature = m.Str[(int)QueryMember.Signature];
        uint seen = m.Seen;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if ((seen & 1u << (int)QueryMember.QueryId) == 0) return Rejections.Missing("query_id");
        if ((seen & 1u << (int)QueryMember.Requester) == 0) return Rejections.Missing("requester");
        if ((seen & 1u << (int)QueryMember.User) == 0) return Rejections.Missing("user");
        if ((seen & 1u << (int)QueryMember.Purpose) == 0) return Rejections.Missing("purpose");
        if ((seen & 1u << (int)QueryMember.Plate) == 0) return Rejections.Missing("plate");
        if ((seen & 1u << (int)QueryMember.IssuedAt) == 0) return Rejections.Missing("issued_at");
        if (!first.IsOk) return first;
        if (queryId.Length == 0 || CharacterCount(Text(queryId)) > 128)
        {
            return Rejections.Invalid("query_id", "must be 1-128 characters");
        }
        if (user.IsEmpty || CharacterCount(Text(user)) > MaxTextCharacters)
        {
            return Rejections.Invalid("user", "must be 1-128 characters");
        }
        if (CharacterCount(Text(caseNumber)) > MaxTextCharacters) return CaseNumberTooLong();
        if (!Purposes.TryParse(Text(purpose), out Purpose p)) return Rejections.UnknownPurpose();
        if (!Plate.TryPack(Text(plate), out ulong packed)) return Rejections.BadPlate();
        if (!Rfc3339.TryParse(Text(issued), ref _issuedDay, out long issuedMs))
        {
            return Rejections.BadTimestamp("issued_at");
        }
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if ((seen & 1u << (int)QueryMember.From) != 0 && !Rfc3339.TryParse(Text(from), out fromMs))
        {
            return Rejections.BadTimestamp("from");
        }
        if ((seen & 1u << (int)QueryMember.To) != 0 && !Rfc3339.TryParse(Text(to), out toMs))
        {
            return Rejections.BadTimestamp("to");
        }
        if (fromMs > toMs) return Rejections.Invalid("from", "is after 'to'");

        query = new Query
        {
            QueryId = queryId, Requester = _agencies.Find(Text(requester)), RequesterText = requester, User = user,
            Purpose = p, PurposeText = purpose, CaseNumber = caseNumber, Reason = reason, Plate = packed,
            PlateText = plate, FromMs = fromMs, ToMs = toMs, FromText = from, ToText = to, IssuedAtMs = issuedMs,
            IssuedAtText = issued, Signature = signature,
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateHotlist(ref EventMembers m, out HotlistEntry entry)
    {
        entry = default;
        Utf8Range hotlistId = m.Str[(int)HotlistMember.HotlistId], owner = m.Str[(int)HotlistMember.Owner];
        Utf8Range plate = m.Str[(int)HotlistMember.Plate], purpose = m.Str[(int)HotlistMember.Purpose];
        Utf8Range caseNumber = m.Str[(int)HotlistMember.CaseNumber], expires = m.Str[(int)HotlistMember.ExpiresAt];
        uint seen = m.Seen;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if ((seen & 1u << (int)HotlistMember.HotlistId) == 0) return Rejections.Missing("hotlist_id");
        if ((seen & 1u << (int)HotlistMember.Owner) == 0) return Rejections.Missing("owner");
        if ((seen & 1u << (int)HotlistMember.Plate) == 0) return Rejections.Missing("plate");
        if ((seen & 1u << (int)HotlistMember.Purpose) == 0) return Rejections.Missing("purpose");
        if (!first.IsOk) return first;
        if (hotlistId.Length == 0 || CharacterCount(Text(hotlistId)) > 128)
        {
            return Rejections.Invalid("hotlist_id", "must be 1-128 characters");
        }
        if (!Plate.TryPack(Text(plate), out ulong packed)) return Rejections.BadPlate();
        if (!Purposes.TryParse(Text(purpose), out Purpose p)) return Rejections.UnknownPurpose();
        if (CharacterCount(Text(caseNumber)) > MaxTextCharacters) return CaseNumberTooLong();
        long expiresMs = long.MaxValue;
        if ((seen & 1u << (int)HotlistMember.ExpiresAt) != 0 && !Rfc3339.TryParse(Text(expires), out expiresMs))
        {
            return Rejections.BadTimestamp("expires_at");
        }
        int ownerId = _agencies.Find(Text(owner));
        if (ownerId < 0) return Rejections.UnknownAgency("owner");

        entry = new HotlistEntry
        {
            HotlistId = hotlistId, Owner = ownerId, Plate = packed, Purpose = p, CaseNumber = caseNumber,
            ExpiresAtMs = expiresMs,
        };
        return ParseResult.Ok;
    }

    internal ParseResult ValidateHold(ref EventMembers m, out Hold hold)
    {
        hold = default;
        Utf8Range holdId = m.Str[(int)HoldMember.HoldId], agency = m.Str[(int)HoldMember.Agency];
        Utf8Range plate = m.Str[(int)HoldMember.Plate], from = m.Str[(int)HoldMember.From];
        Utf8Range to = m.Str[(int)HoldMember.To], kind = m.Str[(int)HoldMember.Kind];
        Utf8Range caseNumber = m.Str[(int)HoldMember.CaseNumber], until = m.Str[(int)HoldMember.Until];
        uint seen = m.Seen;
        ParseResult first = m.First;
        // A repeated member, even null once, is not "missing".
        if (ReferenceEquals(first.Reason, Rejections.DuplicateMember)) return first;

        if ((seen & 1u << (int)HoldMember.HoldId) == 0) return Rejections.Missing("hold_id");
        if ((seen & 1u << (int)HoldMember.Agency) == 0) return Rejections.Missing("agency");
        if ((seen & 1u << (int)HoldMember.Kind) == 0) return Rejections.Missing("kind");
        if ((seen & 1u << (int)HoldMember.Until) == 0) return Rejections.Missing("until");
        if (!first.IsOk) return first;
        if (holdId.Length == 0 || CharacterCount(Text(holdId)) > 128)
        {
            return Rejections.Invalid("hold_id", "must be 1-128 characters");
        }
        if (CharacterCount(Text(caseNumber)) > MaxTextCharacters) return CaseNumberTooLong();
        ulong packed = 0;
        if ((seen & 1u << (int)HoldMember.Plate) != 0 && !Plate.TryPack(Text(plate), out packed))
        {
            return Rejections.BadPlate();
        }
        HoldKind holdKind;
        ReadOnlySpan<byte> k = Text(kind);
        if (k.SequenceEqual("investigation"u8)) holdKind = HoldKind.Investigation;
        else if (k.SequenceEqual("preservation"u8)) holdKind = HoldKind.Preservation;
        else if (k.SequenceEqual("warrant"u8)) holdKind = HoldKind.Warrant;
        else return Rejections.Invalid("kind", "must be investigation, preservation or warrant");
        long fromMs = long.MinValue, toMs = long.MaxValue;
        if ((seen & 1u << (int)HoldMember.From) != 0 && !Rfc3339.TryParse(Text(from), out fromMs))
        {
            return Rejections.BadTimestamp("from");
        }
        if ((seen & 1u << (int)HoldMember.To) != 0 && !Rfc3339.TryParse(Text(to), out toMs))
        {
            return Rejections.BadTimestamp("to");
        }
        if (fromMs > toMs) return Rejections.Invalid("from", "is after 'to'");
        if (!Rfc3339.TryParse(Text(until), out long untilMs)) return Rejections.BadTimestamp("until");
        // The holds of an agency the file keeps as retired still keep its reads (a hold grants no access): placed and
        // released as any, and loaded again by a restarted worker. One a reload removed from the file is unknown, as
        // to a restarted worker: its holds must not depend on how long a worker has run.
        int agencyId = _agencies.FindNamed(Text(agency));
        if (agencyId < 0) return Rejections.UnknownAgency("agency");

        hold = new Hold
        {
            HoldId = holdId, Agency = agencyId, Plate = packed, FromMs = fromMs, ToMs = toMs, Kind = holdKind,
            CaseNumber = caseNumber, UntilMs = untilMs,
        };
        return ParseResult.Ok;
    }

    /// <summary>
    /// Longest <c>user</c> and <c>case_number</c>, in characters: both are copied into audit entries (one per alert of
    /// a read, up to the hotlist bound), so their length bounds an entry's and keeps every block under 512 KiB.
    /// </summary>
    private const int MaxTextCharacters = 128;

    private static ParseResult CaseNumberTooLong() => Rejections.Invalid("case_number", "longer than 128 characters");

    /// <summary>
    /// Whether a hold tombstone's key can be a <c>hold_id</c> (valid UTF-8 of 1 to 128 characters, as the member must
    /// be), or the dead letter it is: the key is all a tombstone says, and the audit names the hold by it.
    /// </summary>
    internal static ParseResult HoldTombstoneKey(ReadOnlySpan<byte> key)
    {
        if (!System.Text.Unicode.Utf8.IsValid(key)) return new(ParseError.InvalidUtf8, "key", "not valid UTF-8");
        if (key.IsEmpty || CharacterCount(key) > 128)
        {
            return new(ParseError.InvalidField, "key", "a hold tombstone needs the key hold_id (1-128 characters)");
        }
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
