using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// A restart (or a rebalance) must leave the store as a worker that never stopped would have it, judged from what the
/// log says happened — not from the policy and holds in force at the restart: one purge notice per read and recipient,
/// never two, never none; nothing rejected live comes back.
/// </summary>
public sealed class RestoreFromLogTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);

    private readonly List<TestPolicy> _policies = [];

    public void Dispose()
    {
        foreach (TestPolicy p in _policies) p.Dispose();
    }

    /// <summary>
    /// ca-lasd and us-ice-ero keep reads <paramref name="defaultRetention"/>; ca-lapd 30 days, pushed to ca-lasd
    /// (stolen vehicles; immigration enforcement is denied to both by the Values Act); wa-spd 21 days (WA.RETENTION).
    /// </summary>
    private TestPolicy Policy(string defaultRetention = "30d")
    {
        var policy = new TestPolicy($$"""
            version: 1
            default_retention: {{defaultRetention}}
            agencies:
              - {id: ca-lapd, state: CA, level: local, retention: 30d, key: file:keys/ca-lapd.key}
              - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
              - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}
              - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
            agreements:
              - id: la-push
                owners: [ca-lapd]
                recipients: [ca-lasd, us-ice-ero]
                access: [push, search]
                purposes: [stolen_vehicle, immigration_enforcement]
            search:
              max_clock_skew: 5m
            """);
        _policies.Add(policy);
        return policy;
    }

    /// <summary>
    /// One worker's life on partition 0: its engine, its outputs, and the reads it was given. <c>now</c> is the
    /// clock before the first read, and what the future-timestamp check compares with (replay's <c>--now</c>).
    /// </summary>
    private sealed class Worker
    {
        public Worker(TestPolicy policy, DateTimeOffset now, int maxReadsPerPartition = PartitionReads.MaxReads)
            : this(policy.Compiled, now, maxReadsPerPartition)
        {
        }

        public Worker(CompiledPolicy policy, DateTimeOffset now, int maxReadsPerPartition = PartitionReads.MaxReads,
            byte[]? auditKey = null, byte[]? retiredAuditKey = null)
        {
            Engine = new StreamGuardEngine(policy, Sink, auditKey ?? TestPolicy.AuditKey,
                new EngineOptions
                {
                    EventTimeClock = true, ReplayNowMs = now.ToUnixTimeMilliseconds(),
                    RetiredAuditKeys = retiredAuditKey is null ? null : [retiredAuditKey],
                }, null, maxReadsPerPartition);
            Sink.Engine = Engine;
        }

        public MemorySink Sink { get; } = new();

        public StreamGuardEngine Engine { get; }

        /// <summary>The reads of alpr.reads partition 0: payload and record timestamp.</summary>
        public List<(byte[] Payload, long ArrivedAtMs)> Topic { get; } = [];

        public void Read(string id, string owner, DateTimeOffset observed, string plate = "7ABC123",
            DateTimeOffset? arrived = null)
        {
            byte[] payload = Encoding.UTF8.GetBytes(TestPolicy.Read(id, owner, plate, observed));
            Topic.Add((payload, (arrived ?? observed).ToUnixTimeMilliseconds()));
            Engine.ProcessRead(payload, EventSource.Kafka("alpr.reads", 0, Topic.Count - 1));
        }

        public void Hold(string id, string agency, DateTimeOffset until) =>
            Engine.Holds.ApplyAndAudit(Encoding.UTF8.GetBytes(id), Encoding.UTF8.GetBytes(
                $"{{\"hold_id\":\"{id}\",\"agency\":\"{agency}\",\"kind\":\"investigation\"," +
                $"\"case_number\":\"SPD-26-1\",\"until\":\"{until.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"}}"),
                EventSource.Kafka("alpr.holds", 0, 0));

        /// <summary>Purge notices as (read id, recipient).</summary>
        public List<(string Read, string To)> Notices => Sink.Purges.Select(MemorySink.Json)
            .Select(p => (p.GetProperty("read_id").GetString()!, p.GetProperty("recipient").GetString()!)).ToList();

        public List<string> IngestCodes => Sink.AuditRecords.Select(MemorySink.Json)
            .Where(r => r.GetProperty("event").GetString() == "ingest")
            .Select(r => r.GetProperty("code").GetString()!).ToList();
    }

    /// <summary>
    /// A new worker under <paramref name="policy"/> at <paramref name="now"/>, restored from what
    /// <paramref name="before"/> left: its reads topic and its audit chain.
    /// </summary>
    private static Worker Restart(Worker before, TestPolicy policy, DateTimeOffset now,
        Action<Worker>? tablesLoaded = null, int maxReadsPerPartition = PartitionReads.MaxReads,
        IEnumerable<(byte[] Payload, long ArrivedAtMs)>? readBack = null, byte[]? auditKey = null,
        byte[]? retiredAuditKey = null) =>
        Restart(before, policy.Compiled, now, tablesLoaded, maxReadsPerPartition, readBack, auditKey,
            retiredAuditKey);

    private static Worker Restart(Worker before, CompiledPolicy policy, DateTimeOffset now,
        Action<Worker>? tablesLoaded = null, int maxReadsPerPartition = PartitionReads.MaxReads,
        IEnumerable<(byte[] Payload, long ArrivedAtMs)>? readBack = null, byte[]? auditKey = null,
        byte[]? retiredAuditKey = null)
    {
        var after = new Worker(policy, now, maxReadsPerPartition, auditKey, retiredAuditKey);
        tablesLoaded?.Invoke(after);
        // As the worker's restore: each block's plate references compared under the key that salted it.
        var history = new ReadHistory { BlockKey = after.Engine.ChainTails.KeyOf };
        foreach (string block in before.Sink.AuditBlocks) history.AddBlock(Encoding.UTF8.GetBytes(block));
        foreach ((byte[] payload, long arrived) in readBack ?? before.Topic)
        {
            after.Engine.RestoreRead(payload, 0, arrived, history);
        }
        return after;
    }

    /// <summary>The plates of partition 0's resident reads with id <paramref name="id"/> of <paramref name="owner"/>.
    /// </summary>
    private static List<string> ResidentPlates(Worker w, string owner, string id)
    {
        int agency = w.Engine.Policy.Agencies.Find(Encoding.UTF8.GetBytes(owner));
        var plates = new List<string>();
        foreach (string plate in (string[])["7ABC123", "8XYZ999", "5AAA111"])
        {
            StreamGuard.Text.Plate.TryPack(Encoding.UTF8.GetBytes(plate), out ulong packed);
            foreach (StoredRead r in w.Engine.Reads.Find(packed))
            {
                if (w.Engine.Reads.Owner(r) == agency && Encoding.UTF8.GetString(w.Engine.Reads.ReadId(r)) == id)
                {
                    plates.Add(plate);
                }
            }
        }
        return plates;
    }

    /// <summary>ca-lasd's r1 on 7ABC123, purged when x arrives 31 days later; then r1 again, on 8XYZ999.</summary>
    private Worker IdUsedAgainAfterItsReadWasPurged()
    {
        var w = new Worker(Policy("30d"), s_t0.AddDays(100));
        w.Read("r1", "ca-lasd", s_t0);
        w.Read("x", "ca-lasd", s_t0.AddDays(31), plate: "5AAA111"); // r1 purged
        w.Read("r1", "ca-lasd", s_t0.AddDays(32), plate: "8XYZ999"); // the id again, on another plate
        return w;
    }

    [Fact]
    public void AnIdReusedOnAnotherPlateAfterItsReadWasPurgedBringsBackOnlyTheSecondRead()
    {
        Worker w1 = IdUsedAgainAfterItsReadWasPurged();
        Assert.Equal(2, w1.Engine.StoredReadCount);
        Assert.Equal(["8XYZ999"], ResidentPlates(w1, "ca-lasd", "r1"));

        Worker w2 = Restart(w1, Policy("30d"), s_t0.AddDays(32).AddMinutes(1));
        Assert.Equal(2, w2.Engine.StoredReadCount);
        Assert.Equal(["8XYZ999"], ResidentPlates(w2, "ca-lasd", "r1"));
        w2.Engine.Tick();
        Assert.Empty(w2.Notices);
    }

    [Fact]
    public void ARestoreTellsTheStoredReadFromOneDeadLetteredUnderItsIdInWhicheverOrderItReadsThemBack()
    {
        var w1 = new Worker(Policy("30d"), s_t0.AddDays(100));
        w1.Read("r1", "ca-lasd", s_t0);
        w1.Read("r1", "ca-lasd", s_t0.AddMinutes(1), plate: "8XYZ999"); // dead-lettered
        TestPolicy policy = Policy("30d");
        // Read back in the other order (the restore reads the reads topic, then the repartition topic) …
        Worker reversed = Restart(w1, policy, s_t0.AddMinutes(2), readBack: Enumerable.Reverse(w1.Topic));
        Assert.Equal(["7ABC123"], ResidentPlates(reversed, "ca-lasd", "r1"));
        // … or with the stored read's record gone from the topic: the dead-lettered one does not stand in for it.
        Worker gone = Restart(w1, policy, s_t0.AddMinutes(2), readBack: w1.Topic.Skip(1));
        Assert.Equal(0, gone.Engine.StoredReadCount);
    }

    [Fact]
    public void AfterARotationOfTheAuditKeyAReusedIdIsToldApartUnderTheRetiredKeyAndMatchedByIdAloneWithoutIt()
    {
        Worker w1 = IdUsedAgainAfterItsReadWasPurged();
        byte[] rotated = "the key after the rotation"u8.ToArray();
        TestPolicy policy = Policy("30d");

        Worker given = Restart(w1, policy, s_t0.AddDays(32).AddMinutes(1), auditKey: rotated,
            retiredAuditKey: TestPolicy.AuditKey);
        Assert.Equal(["8XYZ999"], ResidentPlates(given, "ca-lasd", "r1"));
        Assert.Equal(2, given.Engine.StoredReadCount);

        // Without the retired key the references cannot be compared: the reads are matched to the log by id alone and
        // the first read back under r1 comes back — here the purged one (spec-notes: a known limit, logged as event
        // 185 by the worker), which is why the retired key must be given.
        Worker without = Restart(w1, policy, s_t0.AddDays(32).AddMinutes(1), auditKey: rotated);
        Assert.Equal(["7ABC123"], ResidentPlates(without, "ca-lasd", "r1"));
    }

    [Fact]
    public void ABlockReadTwiceWithOtherBoundariesKeepsTheKeyOfItsSalt()
    {
        // Found by review: an aborted attempt's block (seq 1..2), then the committed block over the same events and
        // one more (seq 1..3, the same salt): the second block's entries 1 and 2 are skipped as copies, and its salt
        // is still checked against its first seq, 1 — not 3.
        var aborted = new Worker(Policy("30d"), s_t0.AddDays(1));
        aborted.Read("r1", "ca-lasd", s_t0);
        var committed = new Worker(Policy("30d"), s_t0.AddDays(1));
        committed.Read("r1", "ca-lasd", s_t0);
        committed.Read("r2", "ca-lasd", s_t0.AddMinutes(1), plate: "8XYZ999");
        var calls = new List<long>();
        var history = new ReadHistory
        {
            BlockKey = (chain, first, salt) =>
            {
                calls.Add(first);
                return committed.Engine.ChainTails.KeyOf(chain, first, salt);
            },
        };
        foreach (string block in aborted.Sink.AuditBlocks.Concat(committed.Sink.AuditBlocks))
        {
            history.AddBlock(Encoding.UTF8.GetBytes(block));
        }
        Assert.Equal([1L, 1L], calls);
        Assert.Equal(0, history.UnknownKeyBlocks);
        Assert.Equal(2, history.ResidentCount);
    }

    [Fact]
    public void AReadUnderAResidentReadsIdOnAnotherPlateIsNeitherStoredNorRestored()
    {
        var w1 = new Worker(Policy("30d"), s_t0.AddDays(100));
        w1.Read("r1", "ca-lasd", s_t0);
        w1.Read("r1", "ca-lasd", s_t0.AddMinutes(1), plate: "8XYZ999");
        Assert.Single(w1.Sink.DeadLetters);
        Assert.Equal(["7ABC123"], ResidentPlates(w1, "ca-lasd", "r1"));

        Worker w2 = Restart(w1, Policy("30d"), s_t0.AddMinutes(2));
        Assert.Equal(["7ABC123"], ResidentPlates(w2, "ca-lasd", "r1"));
        Assert.Equal(1, w2.Engine.StoredReadCount);
    }

    [Fact]
    public void ALongerWindowAfterARestartDoesNotBringBackAReadTheLogSaysWasPurged()
    {
        var w1 = new Worker(Policy("30d"), s_t0.AddDays(100));
        w1.Read("r1", "ca-lasd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(31), plate: "8XYZ999"); // moves the clock: r1 purged
        Assert.Equal([("r1", "ca-lasd")], w1.Notices);

        Worker w2 = Restart(w1, Policy("90d"), s_t0.AddDays(31).AddMinutes(1));
        Assert.Equal(1, w2.Engine.StoredReadCount); // r2 only
        w2.Engine.Tick();
        Assert.Empty(w2.Notices);
    }

    [Fact]
    public void AShorterWindowAfterARestartPurgesWhatItClosesOnceWithItsNotice()
    {
        var w1 = new Worker(Policy("30d"), s_t0.AddDays(100));
        w1.Read("r1", "ca-lasd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(10), plate: "8XYZ999");
        Assert.Empty(w1.Notices);

        Worker w2 = Restart(w1, Policy("7d"), s_t0.AddDays(10).AddMinutes(1));
        w2.Engine.Tick();
        Assert.Equal([("r1", "ca-lasd")], w2.Notices);
        JsonElement notice = MemorySink.Json(w2.Sink.Purges[0]);
        Assert.Equal("RETENTION.DEFAULT", notice.GetProperty("rule").GetString());
        Assert.Contains(w2.Sink.AuditRecords.Select(MemorySink.Json), r =>
            r.GetProperty("event").GetString() == "purge" && r.GetProperty("reads")[0].GetString() == "r1");
        Assert.Equal(1, w2.Engine.StoredReadCount);
        w2.Engine.Tick();
        Assert.Single(w2.Notices); // never two
    }

    [Fact]
    public void AHoldReleasedWhileThePartitionHadNoOwnerLetsTheReadItKeptGoWithItsNotice()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Hold("h1", "wa-spd", s_t0.AddDays(60));
        w1.Read("r1", "wa-spd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(25), plate: "8XYZ999"); // r1's window closed at day 21: held
        Assert.Empty(w1.Notices);
        Assert.Contains(w1.Sink.AuditRecords.Select(MemorySink.Json),
            r => r.GetProperty("code").GetString() == "hold.retain");

        // h1 released while nobody owned partition 0: the new worker's table does not have it.
        Worker w2 = Restart(w1, Policy(), s_t0.AddDays(26));
        w2.Engine.Tick();
        Assert.Equal([("r1", "wa-spd")], w2.Notices);
        Assert.Equal(1, w2.Engine.StoredReadCount);
    }

    [Fact]
    public void AHoldStillInForceAtTheRestartKeepsTheReadItKept()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Hold("h1", "wa-spd", s_t0.AddDays(60));
        w1.Read("r1", "wa-spd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(25), plate: "8XYZ999");

        Worker w2 = Restart(w1, Policy(), s_t0.AddDays(26), w => w.Hold("h1", "wa-spd", s_t0.AddDays(60)));
        w2.Engine.Tick();
        Assert.Empty(w2.Notices);
        Assert.Equal(2, w2.Engine.StoredReadCount);
    }

    [Fact]
    public void AHoldOfAnAgencyTheFileKeepsAsRetiredStillKeepsItsReadAfterARestart()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Hold("h1", "wa-spd", s_t0.AddDays(60));
        w1.Read("r1", "wa-spd", s_t0);
        TestPolicy retired = PolicyWithout("wa-spd", markRetired: true);
        w1.Engine.SwapPolicy(new CompiledPolicy(retired.Document, w1.Engine.Policy), null);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(25), plate: "8XYZ999"); // r1's window closed at day 21: held
        Assert.Equal(2, w1.Engine.StoredReadCount);

        // The restarted worker loads the holds table again: the retired agency's hold still keeps r1.
        Worker w2 = Restart(w1, retired, s_t0.AddDays(26), w => w.Hold("h1", "wa-spd", s_t0.AddDays(60)));
        Assert.Equal(1, w2.Engine.Holds.Count);
        w2.Engine.Tick();
        Assert.Empty(w2.Notices);
        Assert.Equal(2, w2.Engine.StoredReadCount);
    }

    [Fact]
    public void AHoldOfAnAgencyDeletedFromTheFileIsRefusedAsARestartedWorkerWouldRefuseIt()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "wa-spd", s_t0);
        TestPolicy deleted = PolicyWithout("wa-spd");
        w1.Engine.SwapPolicy(new CompiledPolicy(deleted.Document, w1.Engine.Policy), null);
        w1.Hold("h1", "wa-spd", s_t0.AddDays(60));
        Assert.Equal(0, w1.Engine.Holds.Count);
        Assert.Equal("unknown_agency", MemorySink.Json(Assert.Single(w1.Sink.DeadLetters)).GetProperty("error")
            .GetString());
        w1.Read("r2", "ca-lasd", s_t0.AddDays(25), plate: "8XYZ999"); // r1's window closed at day 21
        Assert.Equal([("r1", "wa-spd")], w1.Notices);
    }

    [Fact]
    public void AReadRejectedAsFutureDatedDoesNotComeBackEvenWhenItsProducerStampedItsRecordLikeIt()
    {
        var w1 = new Worker(Policy(), s_t0);
        w1.Read("f1", "ca-lasd", s_t0.AddHours(1)); // 1 h ahead of the clock, 5 min allowed
        Assert.Equal("invalid_field", MemorySink.Json(Assert.Single(w1.Sink.DeadLetters)).GetProperty("error")
            .GetString());
        w1.Read("r1", "ca-lasd", s_t0, plate: "8XYZ999");

        Worker w2 = Restart(w1, Policy(), s_t0.AddHours(2));
        Assert.Equal(1, w2.Engine.StoredReadCount); // r1 only
    }

    [Fact]
    public void APurgeNoticeGoesToTheOwnerAndToEveryAgencyTheReadWasPushedTo()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0);
        Assert.Equal(["ca-lasd"], w1.Sink.SharedRecords.Select(s => s.Recipient));
        w1.Read("r2", "ca-lasd", s_t0.AddDays(31), plate: "8XYZ999");
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w1.Notices.Order());
        Assert.All(w1.Sink.Purges.Select(MemorySink.Json),
            n => Assert.Equal("ca-lapd", n.GetProperty("agency_id").GetString()));
    }

    [Fact]
    public void AfterARestartAPurgeNoticeStillGoesToEveryAgencyTheReadWasPushedTo()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(10), plate: "8XYZ999");

        // Nobody owned partition 0 when r1's window closed: its purge falls to the new worker.
        Worker w2 = Restart(w1, Policy(), s_t0.AddDays(31));
        w2.Engine.Tick();
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w2.Notices.Order());
    }

    /// <summary>
    /// <see cref="Policy"/> after a reload that took <paramref name="retired"/> out (and out of the agreement); with
    /// <paramref name="markRetired"/>, the file keeps it as <c>retired: true</c> (its window) instead.
    /// </summary>
    private TestPolicy PolicyWithout(string retired, bool markRetired = false)
    {
        string[] agencies =
        [
            "{id: ca-lapd, state: CA, level: local, retention: 30d, key: file:keys/ca-lapd.key}",
            "{id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}",
            "{id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}",
            "{id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}",
        ];
        string kept = string.Join("\n", agencies
            .Select(a => !a.Contains("id: " + retired + ",") ? a
                : markRetired ? a[..a.IndexOf(", key:", StringComparison.Ordinal)] + ", retired: true}" : null)
            .OfType<string>().Select(a => "  - " + a));
        string recipients = string.Join(", ", new[] { "ca-lasd", "us-ice-ero" }.Where(a => a != retired));
        string agreements = retired == "ca-lapd" ? "[]" : $$"""

              - id: la-push
                owners: [ca-lapd]
                recipients: [{{recipients}}]
                access: [push, search]
                purposes: [stolen_vehicle, immigration_enforcement]
            """;
        var policy = new TestPolicy($$"""
            version: 1
            default_retention: 30d
            agencies:
            {{kept}}
            agreements: {{agreements}}
            search:
              max_clock_skew: 5m
            """);
        _policies.Add(policy);
        return policy;
    }

    [Fact]
    public void AnAgencyRetiredBeforeARestartStillGetsThePurgeNoticeOfAReadPushedToIt()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0); // pushed to ca-lasd
        TestPolicy retired = PolicyWithout("ca-lasd");
        w1.Engine.SwapPolicy(new CompiledPolicy(retired.Document, w1.Engine.Policy), null);

        // The restarted worker compiles the file as it is: ca-lasd is in no policy it knows.
        Worker w2 = Restart(w1, retired, s_t0.AddDays(31));
        w2.Engine.Tick();
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w2.Notices.Order());

        // What the worker that never stopped sends.
        w1.Read("r2", "us-ice-ero", s_t0.AddDays(31), plate: "8XYZ999");
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w1.Notices.Order());
    }

    [Fact]
    public void AReadOfAnOwnerRetiredByAReloadIsRestoredOnARebalanceAndPurgedWithItsNotices()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0); // pushed to ca-lasd
        CompiledPolicy reloaded = new(PolicyWithout("ca-lapd").Document, w1.Engine.Policy);
        w1.Engine.SwapPolicy(reloaded, null);

        // The partition comes back to an engine under the same reloaded policy (a rebalance) after r1's window
        // closed: r1 was not purged by anyone, so it is restored, expired, and purged with its notices.
        Worker w2 = Restart(w1, reloaded, s_t0.AddDays(31));
        Assert.Equal(1, w2.Engine.StoredReadCount);
        w2.Engine.Tick();
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w2.Notices.Order());
        Assert.Equal(0, w2.Engine.StoredReadCount);
    }

    [Fact]
    public void AReadOfAnOwnerTheFileKeepsAsRetiredIsRestoredAfterARestartAndPurgedWithItsNotices()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0); // pushed to ca-lasd
        TestPolicy retired = PolicyWithout("ca-lapd", markRetired: true);
        w1.Engine.SwapPolicy(new CompiledPolicy(retired.Document, w1.Engine.Policy), null);

        // A new process compiles the file alone: the file gives ca-lapd's window, so r1 comes back and is purged at
        // its end with both notices, as by the worker that never stopped.
        Worker w2 = Restart(w1, retired, s_t0.AddDays(31));
        Assert.Equal(1, w2.Engine.StoredReadCount);
        Assert.Equal(0, w2.Engine.RestoreUnknownOwnerCount);
        w2.Engine.Tick();
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w2.Notices.Order());
        Assert.Equal(0, w2.Engine.StoredReadCount);

        // Retired, it owns no new read.
        w2.Read("r2", "ca-lapd", s_t0.AddDays(31), plate: "8XYZ999");
        Assert.Equal(0, w2.Engine.StoredReadCount);
        Assert.Equal("unknown_agency", MemorySink.Json(Assert.Single(w2.Sink.DeadLetters)).GetProperty("error")
            .GetString());
    }

    [Fact]
    public void AReadOfAnOwnerTakenOutOfTheFileIsCountedByTheRestoreWithItsOwnerNotDroppedSilently()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0);
        w1.Read("r1", "ca-lapd", s_t0); // a copy: one read, counted once
        TestPolicy removed = PolicyWithout("ca-lapd");
        w1.Engine.SwapPolicy(new CompiledPolicy(removed.Document, w1.Engine.Policy), null);

        Worker w2 = Restart(w1, removed, s_t0.AddDays(31));
        Assert.Equal(0, w2.Engine.StoredReadCount);
        Assert.Equal(1, w2.Engine.RestoreUnknownOwnerCount);
        Assert.Equal(["ca-lapd"], w2.Engine.TakeRestoreUnknownOwners());
        Assert.Empty(w2.Engine.TakeRestoreUnknownOwners()); // each restore names its own
    }

    [Fact]
    public void AnOwnerTextThatIsNoAgencyIdIsNeverNamedByTheRestore()
    {
        // Without a chain's history every read of an unknown owner counts; its text is whatever a producer wrote.
        var w = new Worker(Policy(), s_t0.AddDays(1));
        foreach (string owner in (string[])["7ABC123", "line1\\nrestore: a forged log line", "zz-gone"])
        {
            byte[] payload = Encoding.UTF8.GetBytes(TestPolicy.Read("r1", owner, "7ABC123", s_t0));
            Assert.False(w.Engine.RestoreRead(payload, 0, s_t0.ToUnixTimeMilliseconds()));
        }
        Assert.Equal(3, w.Engine.RestoreUnknownOwnerCount);
        Assert.Equal([StreamGuardEngine.NotAnAgencyId, "zz-gone"], w.Engine.TakeRestoreUnknownOwners());
    }

    [Fact]
    public void AReadOfAnUnknownOwnerThatOwesNothingIsNotCountedByTheRestore()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0);
        w1.Read("r2", "zz-rogue", s_t0.AddDays(1), plate: "8XYZ999"); // dead-lettered live: no such agency
        w1.Read("r3", "ca-lasd", s_t0.AddDays(31), plate: "5AAA111"); // r1's window closed: purged
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w1.Notices.Order());
        TestPolicy removed = PolicyWithout("ca-lapd");
        w1.Engine.SwapPolicy(new CompiledPolicy(removed.Document, w1.Engine.Policy), null);

        // Neither r1 (purged) nor r2 (never stored) is owed anything: nothing to report.
        Worker w2 = Restart(w1, removed, s_t0.AddDays(32));
        Assert.Equal(1, w2.Engine.StoredReadCount); // r3
        Assert.Equal(0, w2.Engine.RestoreUnknownOwnerCount);
        Assert.Empty(w2.Engine.TakeRestoreUnknownOwners());
    }

    [Fact]
    public void AReadProducedTwiceIsStoredAndPushedOnceAndItsSecondCopyIsAuditedAsADuplicate()
    {
        var w1 = new Worker(Policy(), s_t0.AddDays(100));
        w1.Read("r1", "ca-lapd", s_t0);
        w1.Read("r1", "ca-lapd", s_t0);
        Assert.Single(w1.Sink.SharedRecords);
        Assert.Equal(1, w1.Engine.StoredReadCount);
        Assert.Equal(["allow.ingest", "drop.duplicate"], w1.IngestCodes);

        Worker w2 = Restart(w1, Policy(), s_t0.AddMinutes(1));
        Assert.Equal(1, w2.Engine.StoredReadCount);
        Worker w3 = Restart(w1, Policy(), s_t0.AddDays(31));
        w3.Engine.Tick();
        Assert.Equal(0, w3.Engine.StoredReadCount);
        Assert.Equal([("r1", "ca-lapd"), ("r1", "ca-lasd")], w3.Notices.Order()); // one per addressee, not two
    }

    [Fact]
    public void APartitionStoreAtItsLimitRefusesNewReadsWithAnAuditedCodeAndARestoreDoesTheSame()
    {
        var w1 = new Worker(Policy(), s_t0, maxReadsPerPartition: 2);
        w1.Read("r1", "ca-lapd", s_t0);
        w1.Read("r2", "ca-lapd", s_t0.AddMinutes(1), plate: "8XYZ999");
        w1.Read("r3", "ca-lapd", s_t0.AddMinutes(2), plate: "9QQQ111"); // refused: never stored, never pushed
        Assert.Equal(2, w1.Engine.StoredReadCount);
        Assert.Equal(["ca-lasd", "ca-lasd"], w1.Sink.SharedRecords.Select(s => s.Recipient));
        Assert.Equal(["allow.ingest", "allow.ingest", "drop.store_full"], w1.IngestCodes);

        // A restart under a lower limit refuses what does not fit instead of throwing on every start.
        Worker w2 = Restart(w1, Policy(), s_t0.AddMinutes(3), maxReadsPerPartition: 1);
        Assert.Equal(1, w2.Engine.StoredReadCount);
        Assert.Equal(1, w2.Engine.RestoreRefusedCount);
    }

    [Fact]
    public void ABlockReadTwiceCountsOnceAndAReadBeforeTheSpanReadFallsBackToTheTimeRule()
    {
        var w1 = new Worker(Policy("30d"), s_t0.AddDays(100));
        w1.Read("r1", "ca-lasd", s_t0);
        w1.Read("r2", "ca-lasd", s_t0.AddDays(31), plate: "8XYZ999"); // r1 purged
        var history = new ReadHistory();
        foreach (string block in w1.Sink.AuditBlocks.Concat(w1.Sink.AuditBlocks))
        {
            history.AddBlock(Encoding.UTF8.GetBytes(block));
        }
        Assert.Equal(1, history.ResidentCount); // r2; the second copy of each block is skipped

        // A history whose span starts at day 40 (no block of it names r1 or r2) vouches for nothing before: both are
        // judged by their times, and inside a 90-day window both come back.
        var late = new ReadHistory { CoversFromMs = s_t0.AddDays(40).ToUnixTimeMilliseconds() };
        var w2 = new Worker(Policy("90d"), s_t0.AddDays(32));
        foreach ((byte[] payload, long arrived) in w1.Topic) w2.Engine.RestoreRead(payload, 0, arrived, late);
        Assert.Equal(2, w2.Engine.StoredReadCount); // the time rule cannot know r1 was purged: why the span matters
    }
}
