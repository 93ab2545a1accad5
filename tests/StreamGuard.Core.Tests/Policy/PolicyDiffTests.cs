using System.Globalization;
using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary>
/// <c>policy diff</c>: exactly the (owner, recipient, access, purpose) whose outcome changes, checked by brute force.
/// </summary>
public sealed class PolicyDiffTests
{
    private const int Seed = 0x5EED_D1FF;
    private static readonly Access[] s_accesses = [Access.Push, Access.Search, Access.Alert];

    private static CompiledPolicy Compile(string yaml, CompiledPolicy? previous = null) =>
        new(PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", "."), previous);

    private static readonly long s_now = RandomPolicies.NowMs;

    /// <summary>
    /// The listing rules, over every (owner, recipient, access, purpose) of the union of agencies, owner ≠ recipient:
    /// a missing agency's side is <see cref="PolicyDiff.Absent"/>; a change of allow/deny is Granted or Revoked; the
    /// same allow/deny with another (code, rule) is Reason, unless an agency is missing on one side.
    /// </summary>
    private static HashSet<OutcomeChange> BruteForce(CompiledPolicy? oldPolicy, CompiledPolicy newPolicy, long nowMs)
    {
        var ids = (oldPolicy?.Document.Agencies ?? []).Concat(newPolicy.Document.Agencies).Select(a => a.Id)
            .Distinct(StringComparer.Ordinal).ToList();
        var changes = new HashSet<OutcomeChange>();
        foreach (string owner in ids)
        {
            foreach (string recipient in ids)
            {
                if (owner == recipient) continue;
                int oo = oldPolicy?.Agencies.Find(owner) ?? -1, or = oldPolicy?.Agencies.Find(recipient) ?? -1;
                int no = newPolicy.Agencies.Find(owner), nr = newPolicy.Agencies.Find(recipient);
                bool inOld = oo >= 0 && or >= 0, inNew = no >= 0 && nr >= 0;
                foreach (Access access in s_accesses)
                {
                    for (int p = 0; p < Purposes.Count; p++)
                    {
                        Decision before = inOld
                            ? oldPolicy!.Decide(oo, or, access, (Purpose)p, true, nowMs)
                            : PolicyDiff.Absent;
                        Decision after = inNew
                            ? newPolicy.Decide(no, nr, access, (Purpose)p, true, nowMs)
                            : PolicyDiff.Absent;
                        if (before.Code == after.Code && before.Rule == after.Rule) continue;
                        ChangeKind kind;
                        if (before.Allowed != after.Allowed)
                        {
                            kind = after.Allowed ? ChangeKind.Granted : ChangeKind.Revoked;
                        }
                        else if (!inOld || !inNew) continue;
                        else kind = ChangeKind.Reason;
                        changes.Add(new OutcomeChange(kind, owner, recipient, access, (Purpose)p, before, after));
                    }
                }
            }
        }
        return changes;
    }

    private static void AssertSameChanges(HashSet<OutcomeChange> expected, PolicyDiffResult actual, string context)
    {
        var got = actual.Changes.ToHashSet();
        if (got.Count != actual.Changes.Count) Assert.Fail($"the diff lists a change twice\n{context}");
        if (got.SetEquals(expected)) return;
        var missing = expected.Except(got).Take(10).Select(c => $"  missing: {c.Kind} {c}");
        var extra = got.Except(expected).Take(10).Select(c => $"  extra:   {c.Kind} {c}");
        Assert.Fail($"diff differs from brute force ({expected.Count} expected, {got.Count} listed)\n" +
            $"{string.Join("\n", missing.Concat(extra))}\n{context}");
    }

    [Fact]
    public void TheDiffOfRandomPoliciesEqualsBruteForce()
    {
        var rng = new Random(Seed);
        long[] clocks =
        [
            s_now, s_now, s_now,
            new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),   // before most expiries
            new DateTimeOffset(2028, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),   // after all of them
            new DateTimeOffset(2026, 6, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),   // the midnight after Now
        ];
        int granted = 0, revoked = 0, reason = 0, withAbsent = 0, pairs = 0;
        for (int i = 0; i < 400; i++)
        {
            RandomPolicy a = RandomPolicies.Generate(rng);
            RandomPolicy b = RandomPolicies.Mutate(a, rng);
            if (rng.Next(4) == 0) b = RandomPolicies.Mutate(b, rng);
            CompiledPolicy oldPolicy = a.Compile();
            // Half the time compiled as a reload (stable indexes, retired agencies kept), as the worker does.
            CompiledPolicy newPolicy = rng.Next(2) == 0 ? b.Compile() : b.Compile(oldPolicy);
            long now = clocks[rng.Next(clocks.Length)];
            string context = $"iteration {i}, now {DateTimeOffset.FromUnixTimeMilliseconds(now):O}\n" +
                $"--- old ---\n{a.ToYaml()}--- new ---\n{b.ToYaml()}";

            HashSet<OutcomeChange> expected = BruteForce(oldPolicy, newPolicy, now);
            PolicyDiffResult diff = PolicyDiff.Compute(oldPolicy, newPolicy, now);
            AssertSameChanges(expected, diff, context);

            var oldIds = a.Agencies.Select(x => x.Id).ToHashSet();
            var newIds = b.Agencies.Select(x => x.Id).ToHashSet();
            Assert.Equal(newIds.Where(x => !oldIds.Contains(x)).Order(StringComparer.Ordinal),
                diff.AgenciesAdded.Order(StringComparer.Ordinal));
            Assert.Equal(oldIds.Where(x => !newIds.Contains(x)).Order(StringComparer.Ordinal),
                diff.AgenciesRemoved.Order(StringComparer.Ordinal));
            Assert.Equal(diff.Changes.Count(c => c.Kind == ChangeKind.Granted), diff.Granted);
            Assert.Equal(diff.Changes.Count(c => c.Kind == ChangeKind.Revoked), diff.Revoked);
            Assert.Equal(diff.Changes.Count(c => c.Kind == ChangeKind.Reason), diff.ReasonChanged);
            Assert.DoesNotContain(diff.Changes, c => c.Owner == c.Recipient);

            // The other way round: the same tuples, granted and revoked swapped.
            PolicyDiffResult back = PolicyDiff.Compute(newPolicy, oldPolicy, now);
            AssertSameChanges(BruteForce(newPolicy, oldPolicy, now), back, "reversed " + context);
            Assert.Equal(diff.Granted, back.Revoked);
            Assert.Equal(diff.Revoked, back.Granted);

            granted += diff.Granted;
            revoked += diff.Revoked;
            reason += diff.ReasonChanged;
            withAbsent += diff.Changes.Count(c => ReferenceEquals(c.Old.Rule, PolicyDiff.Absent.Rule)
                || ReferenceEquals(c.New.Rule, PolicyDiff.Absent.Rule));
            pairs++;
        }
        // The generator must exercise every kind of change, or the comparison proves little.
        Assert.True(pairs >= 300);
        Assert.True(granted > 100, $"granted {granted}");
        Assert.True(revoked > 100, $"revoked {revoked}");
        Assert.True(reason > 100, $"reason {reason}");
        Assert.True(withAbsent > 20, $"changes with an absent agency {withAbsent}");
    }

    [Fact]
    public void TheDiffFromNoPolicyListsEverythingGrantedAndNothingElse()
    {
        var rng = new Random(Seed + 1);
        for (int i = 0; i < 30; i++)
        {
            RandomPolicy a = RandomPolicies.Generate(rng);
            CompiledPolicy policy = a.Compile();
            PolicyDiffResult diff = PolicyDiff.Compute(null, policy, s_now);
            AssertSameChanges(BruteForce(null, policy, s_now), diff, a.ToYaml());
            Assert.All(diff.Changes, c => Assert.Equal(ChangeKind.Granted, c.Kind));
            Assert.All(diff.Changes, c => Assert.Equal(PolicyDiff.Absent, c.Old));
        }
    }

    [Fact]
    public void IdenticalPoliciesHaveNoChanges()
    {
        var rng = new Random(Seed + 2);
        for (int i = 0; i < 30; i++)
        {
            RandomPolicy a = RandomPolicies.Generate(rng);
            CompiledPolicy first = a.Compile();
            Assert.Empty(PolicyDiff.Compute(first, first, s_now).Changes);
            Assert.Empty(PolicyDiff.Compute(first, a.Compile(), s_now).Changes);
            PolicyDiffResult reload = PolicyDiff.Compute(first, a.Compile(first), s_now);
            Assert.Empty(reload.Changes);
            Assert.Empty(reload.AgenciesAdded);
            Assert.Empty(reload.AgenciesRemoved);
        }
    }

    /// <summary><paramref name="p"/>'s file with <paramref name="retired"/> in it as <c>retired: true</c>.</summary>
    private static string WithRetired(RandomPolicy p, IEnumerable<RandomAgency> retired)
    {
        string yaml = p.ToYaml();
        int at = yaml.IndexOf("agreements", StringComparison.Ordinal);
        var sb = new StringBuilder();
        foreach (RandomAgency a in retired)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - {{id: {a.Id}, level: {a.Level}");
            if (a.State is not null) sb.Append(CultureInfo.InvariantCulture, $", state: {a.State}");
            sb.Append(", retired: true}\n");
        }
        return yaml[..at] + sb + yaml[at..];
    }

    [Fact]
    public void TheDiffOfRandomPoliciesWithRetiredAgenciesEqualsBruteForce()
    {
        var rng = new Random(Seed + 7);
        int withRetired = 0;
        for (int i = 0; i < 300; i++)
        {
            RandomPolicy a = RandomPolicies.Generate(rng);
            RandomPolicy b = RandomPolicies.Mutate(a, rng);
            if (rng.Next(2) == 0) b = RandomPolicies.Mutate(b, rng);
            // Agencies the mutation took out are kept in the new file as retired; sometimes one the mutation added
            // was already in the old file, retired.
            var gone = a.Agencies.Where(x => b.Agencies.All(y => y.Id != x.Id)).ToList();
            var come = b.Agencies.Where(x => a.Agencies.All(y => y.Id != x.Id)).Take(rng.Next(2)).ToList();
            string oldYaml = WithRetired(a, come), newYaml = WithRetired(b, gone);
            if (gone.Count + come.Count > 0) withRetired++;
            CompiledPolicy oldPolicy = Compile(oldYaml);
            CompiledPolicy newPolicy = rng.Next(2) == 0 ? Compile(newYaml) : Compile(newYaml, oldPolicy);
            string context = $"iteration {i}\n--- old ---\n{oldYaml}--- new ---\n{newYaml}";

            PolicyDiffResult diff = PolicyDiff.Compute(oldPolicy, newPolicy, s_now);
            AssertSameChanges(BruteForce(oldPolicy, newPolicy, s_now), diff, context);
            var activeOld = a.Agencies.Select(x => x.Id).ToHashSet();
            var activeNew = b.Agencies.Select(x => x.Id).ToHashSet();
            Assert.Equal(activeNew.Except(activeOld).Order(StringComparer.Ordinal),
                diff.AgenciesAdded.Order(StringComparer.Ordinal));
            Assert.Equal(activeOld.Except(activeNew).Order(StringComparer.Ordinal),
                diff.AgenciesRemoved.Order(StringComparer.Ordinal));
        }
        Assert.True(withRetired > 50, $"policies with a retired agency {withRetired}");
    }

    [Fact]
    public void ARetiredAgencyIsRemovedOnceAndItsWindowStillShowsInTheDiff()
    {
        const string Head = """
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}

            """;
        CompiledPolicy active = Compile(Head + "  - {id: ca-lasd, state: CA, level: county, retention: 30d}\n");
        CompiledPolicy retired = Compile(Head + "  - {id: ca-lasd, state: CA, level: county, retention: 30d, " +
            "retired: true}\n");
        CompiledPolicy shorter = Compile(Head + "  - {id: ca-lasd, state: CA, level: county, retention: 7d, " +
            "retired: true}\n");

        PolicyDiffResult retiring = PolicyDiff.Compute(active, retired, s_now);
        Assert.Equal(["ca-lasd"], retiring.AgenciesRemoved);
        Assert.Empty(retiring.AgenciesAdded);
        Assert.Empty(retiring.RetentionChanges);

        PolicyDiffResult same = PolicyDiff.Compute(retired, retired, s_now);
        Assert.Empty(same.AgenciesAdded);
        Assert.Empty(same.AgenciesRemoved);

        // Its stored reads keep its window: a change of it is shown, as for any agency.
        RetentionChange change = Assert.Single(PolicyDiff.Compute(retired, shorter, s_now).RetentionChanges);
        Assert.Equal("ca-lasd", change.Agency);

        // Taken out by a reload (the worker keeps its window), then back as retired with another: shown too.
        CompiledPolicy deleted = Compile(Head, active);
        CompiledPolicy back = Compile(Head + "  - {id: ca-lasd, state: CA, level: county, retention: 7d, " +
            "retired: true}\n", deleted);
        Assert.Equal("ca-lasd", Assert.Single(PolicyDiff.Compute(deleted, back, s_now).RetentionChanges).Agency);
    }

    [Fact]
    public void ReorderingAgenciesOrChangingOnlyACitationChangesNoOutcome()
    {
        const string before = "{id: k, owners: [ca-lapd], recipients: [ca-lasd, us-fbi], access: [search], " +
            "purposes: [warrant], citation: \"MOU 1\"}";
        const string after = "{id: k, owners: [ca-lapd], recipients: [us-fbi, ca-lasd], access: [search], " +
            "purposes: [warrant], citation: \"MOU 1, amended\"}";
        CompiledPolicy a = Compile($$"""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
              - {id: us-fbi, level: federal}
            agreements:
              - {{before}}
            """);
        CompiledPolicy b = Compile($$"""
            version: 1
            agencies:
              - {id: us-fbi, level: federal}
              - {id: ca-lasd, state: CA, level: county}
              - {id: ca-lapd, state: CA, level: local}
            agreements:
              - {{after}}
            """);
        Assert.Empty(PolicyDiff.Compute(a, b, s_now).Changes);
    }

    private const string BaseYaml = """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: ca-lasd, state: CA, level: county}
          - {id: tx-hpd, state: TX, level: local}
          - {id: tx-dps, state: TX, level: state}
          - {id: us-fbi, level: federal}
        agreements:
          - {id: existing, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant]}
        """;

    private const string AddedAgreement = """
          - id: added
            owners: [ca-lapd, tx-hpd]
            recipients: [ca-lasd, us-fbi, tx-dps]
            access: [push, search]
            purposes: [warrant, immigration_enforcement, stolen_vehicle]
        """;

    /// <summary>
    /// The tuples of <see cref="AddedAgreement"/> no statute denies, from Part A: CA shares only with CA public
    /// agencies and never for immigration; Texas has no statute.
    /// </summary>
    private static IEnumerable<(string Owner, string Recipient, Access Access, Purpose Purpose)>
        AddedAgreementAllowedTuples()
    {
        foreach (Access access in (Access[])[Access.Push, Access.Search])
        {
            foreach (Purpose p in (Purpose[])[Purpose.Warrant, Purpose.StolenVehicle])
            {
                yield return ("ca-lapd", "ca-lasd", access, p);
            }
            foreach (string r in (string[])["ca-lasd", "us-fbi", "tx-dps"])
            {
                foreach (Purpose p in
                    (Purpose[])[Purpose.Warrant, Purpose.ImmigrationEnforcement, Purpose.StolenVehicle])
                {
                    // tx-hpd → tx-dps search warrant is already granted by "existing", which comes first.
                    if (r == "tx-dps" && access == Access.Search && p == Purpose.Warrant) continue;
                    yield return ("tx-hpd", r, access, p);
                }
            }
        }
    }

    [Fact]
    public void AddingAnAgreementGrantsExactlyItsTuplesThatStatutesDoNotDeny()
    {
        CompiledPolicy before = Compile(BaseYaml);
        CompiledPolicy after = Compile(BaseYaml + "\n" + AddedAgreement, before);
        PolicyDiffResult diff = PolicyDiff.Compute(before, after, s_now);
        AssertSameChanges(BruteForce(before, after, s_now), diff, "agreement added");

        var expected = AddedAgreementAllowedTuples().ToHashSet();
        Assert.Equal(21, expected.Count);
        Assert.Equal(21, diff.Granted);
        Assert.Equal(0, diff.Revoked);
        var granted = diff.Changes.Where(c => c.Kind == ChangeKind.Granted).ToList();
        Assert.True(expected.SetEquals(granted.Select(c => (c.Owner, c.Recipient, c.Access, c.Purpose))));
        Assert.All(granted, c =>
        {
            Assert.Equal(new Decision(DecisionCode.AllowAgreement, "added", "Agreement added (test.yaml:10)"), c.New);
            // the pair was already named: access or purpose not granted
            if (c.Recipient == "tx-dps") Assert.Equal("existing", c.Old.Rule);
            else
            {
                Assert.Equal(new Decision(DecisionCode.DenyNoAgreement, CompiledPolicy.DefaultDenyRule,
                    CompiledPolicy.DefaultDenyCitation), c.Old);
            }
        });
        // What the new agreement names but does not grant is still denied, now citing it: a reason change only.
        Assert.All(diff.Changes.Where(c => c.Kind == ChangeKind.Reason), c =>
        {
            Assert.False(c.New.Allowed);
            Assert.Equal("added", c.New.Rule);
        });
        // Statute denials are untouched: CA → us-fbi, CA → tx-dps, CA immigration.
        Assert.DoesNotContain(diff.Changes,
            c => c.Old.Code == DecisionCode.DenyStatute || c.New.Code == DecisionCode.DenyStatute);
        Assert.Empty(diff.AgenciesAdded);
    }

    [Fact]
    public void RemovingAnAgreementRevokesExactlyItsTuplesThatStatutesDoNotDeny()
    {
        CompiledPolicy before = Compile(BaseYaml + "\n" + AddedAgreement);
        CompiledPolicy after = Compile(BaseYaml, before);
        PolicyDiffResult diff = PolicyDiff.Compute(before, after, s_now);
        AssertSameChanges(BruteForce(before, after, s_now), diff, "agreement removed");

        Assert.Equal(21, diff.Revoked);
        Assert.Equal(0, diff.Granted);
        var revoked = diff.Changes.Where(c => c.Kind == ChangeKind.Revoked).ToList();
        Assert.True(AddedAgreementAllowedTuples().ToHashSet()
            .SetEquals(revoked.Select(c => (c.Owner, c.Recipient, c.Access, c.Purpose))));
        Assert.All(revoked, c =>
        {
            Assert.Equal("added", c.Old.Rule);
            Assert.Equal(c.Recipient == "tx-dps" ? "existing" : CompiledPolicy.DefaultDenyRule, c.New.Rule);
        });
        Assert.All(diff.Changes.Where(c => c.Kind == ChangeKind.Reason), c => Assert.Equal("added", c.Old.Rule));
    }

    [Fact]
    public void AnAgreementInsertedBeforeAnotherChangesWhichOneIsCited()
    {
        const string Agencies = """
            version: 1
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:

            """;
        CompiledPolicy before = Compile(Agencies +
            "  - {id: old, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant]}\n");
        CompiledPolicy after = Compile(Agencies +
            "  - {id: new, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant, other]}\n" +
            "  - {id: old, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant]}\n");
        PolicyDiffResult diff = PolicyDiff.Compute(before, after, s_now);
        AssertSameChanges(BruteForce(before, after, s_now), diff, "agreement inserted");
        // Every tuple of the pair now cites "new", the first agreement at the deciding level.
        Assert.Equal(3 * Purposes.Count, diff.Changes.Count);
        OutcomeChange granted = Assert.Single(diff.Changes, c => c.Kind == ChangeKind.Granted);
        Assert.Equal((Access.Search, Purpose.Other), (granted.Access, granted.Purpose));
        Assert.Equal(DecisionCode.DenyPurposeNotGranted, granted.Old.Code);
        Assert.Equal("old", granted.Old.Rule);
        OutcomeChange allowed = Assert.Single(diff.Changes, c => c.Kind == ChangeKind.Reason && c.New.Allowed);
        Assert.Equal((Access.Search, Purpose.Warrant, "old", "new"),
            (allowed.Access, allowed.Purpose, allowed.Old.Rule, allowed.New.Rule));
        Assert.All(diff.Changes.Where(c => c.Kind == ChangeKind.Reason && !c.New.Allowed), c =>
        {
            Assert.Equal(c.Old.Code, c.New.Code);
            Assert.Equal(("old", "new"), (c.Old.Rule, c.New.Rule));
        });
    }

    [Fact]
    public void RemovingAnAgencyRevokesWhatItReceivedAndDoesNotListItsDenials()
    {
        CompiledPolicy before = Compile(BaseYaml + "\n" + AddedAgreement);
        CompiledPolicy after = Compile("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
              - {id: tx-hpd, state: TX, level: local}
              - {id: tx-dps, state: TX, level: state}
            agreements:
              - {id: existing, owners: [tx-hpd], recipients: [tx-dps], access: [search], purposes: [warrant]}
              - id: added
                owners: [ca-lapd, tx-hpd]
                recipients: [ca-lasd, tx-dps]
                access: [push, search]
                purposes: [warrant, immigration_enforcement, stolen_vehicle]
            """, before);
        PolicyDiffResult diff = PolicyDiff.Compute(before, after, s_now);
        Assert.Equal(["us-fbi"], diff.AgenciesRemoved);
        Assert.Empty(diff.AgenciesAdded);
        // tx-hpd → us-fbi: 2 accesses × 3 purposes; CA never shared with the FBI, so nothing else changes.
        Assert.Equal(6, diff.Changes.Count);
        Assert.All(diff.Changes, c =>
        {
            Assert.Equal(ChangeKind.Revoked, c.Kind);
            Assert.Equal("tx-hpd", c.Owner);
            Assert.Equal("us-fbi", c.Recipient);
            Assert.Equal(PolicyDiff.Absent, c.New);
        });
    }

    [Fact]
    public void ChangingARecipientsFactsChangesTheStatuteOutcomes()
    {
        const string agreement = "{id: k, owners: [il-cpd], recipients: [nv-lvmpd], access: [search], " +
            "purposes: [warrant, reproductive_health]}";
        CompiledPolicy before = Compile($$"""
            version: 1
            agencies:
              - {id: il-cpd, state: IL, level: local}
              - {id: nv-lvmpd, state: NV, level: local}
            agreements:
              - {{agreement}}
            """);
        CompiledPolicy after = Compile($$"""
            version: 1
            agencies:
              - {id: il-cpd, state: IL, level: local}
              - {id: nv-lvmpd, state: NV, level: local, declarations: [IL-625-ILCS-5/2-130]}
            agreements:
              - {{agreement}}
            """, before);
        PolicyDiffResult diff = PolicyDiff.Compute(before, after, s_now);
        HashSet<OutcomeChange> expected = BruteForce(before, after, s_now);
        AssertSameChanges(expected, diff, "declaration added");
        OutcomeChange granted = Assert.Single(diff.Changes, c => c.Kind == ChangeKind.Granted);
        Assert.Equal((Access.Search, Purpose.Warrant), (granted.Access, granted.Purpose));
        Assert.Equal("IL.DECLARATION_REQUIRED", granted.Old.Rule);
        // Every other purpose and access of the pair: still denied, now by another rule (a reason change).
        Assert.Equal(3 * Purposes.Count - 1, diff.ReasonChanged);
        Assert.Contains(diff.Changes, c => c.Kind == ChangeKind.Reason && c.Purpose == Purpose.ReproductiveHealth
            && c.New.Rule == "IL.FORBIDDEN_PURPOSE");
        Assert.Contains(diff.Changes, c => c.Kind == ChangeKind.Reason && c.Access == Access.Push
            && c.New.Code == DecisionCode.DenyAccessNotGranted);
    }
}
