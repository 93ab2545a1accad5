using System.Text;
using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary><c>policy check</c> validation: every error names file, line and field (SPEC §3).</summary>
public sealed class PolicyValidationTests
{
    private const string UnsetVariable = "SG_TEST_POLICY_VALIDATION_NEVER_SET_7F3A";

    private static PolicyDocument Load(string yaml, string baseDirectory = ".") =>
        PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml", baseDirectory);

    private static PolicyException Reject(string yaml)
    {
        var e = Assert.Throws<PolicyException>(() => Load(yaml));
        Assert.Equal("test.yaml", e.File);
        return e;
    }

    /// <summary>Agreement k1 up to its <c>expires</c>, which each expiry case completes.</summary>
    private const string K1UpToExpiry =
        "{id: k1, owners: [ca-lapd], recipients: [ca-lasd], access: [search], purposes: [warrant]";

    /// <summary>(yaml, line, field, what the message says).</summary>
    public static TheoryData<string, int, string, string> Errors => new()
    {
        // Unknown agencies in an agreement: the line of the offending list item.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd, ca-ghost]
              recipients: [ca-lasd]
              access: [search]
              purposes: [warrant]
          """, 7, "agreements[k1].owners", "unknown agency 'ca-ghost'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients:
                - ca-lasd
                - ca-nobody
              access: [search]
              purposes: [warrant]
          """, 10, "agreements[k1].recipients", "unknown agency 'ca-nobody'" },
        // A retired agency (kept for its stored reads) is in no agreement or rule, and signs nothing.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county, retired: true}
          agreements:
            - {id: k1, owners: [ca-lapd], recipients: [ca-lasd], access: [push], purposes: [warrant]}
          """, 6, "agreements[k1].recipients", "'ca-lasd' is retired (agencies[ca-lasd].retired)" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, retired: true}
          rules:
            - {id: r1, owners: [ca-lapd], deny_purposes: [warrant], citation: x}
          """, 5, "rules[r1].owners", "'ca-lapd' is retired" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, retired: true, key: env:SG_ANY}
          """, 3, "agencies[ca-lapd].key", "a retired agency signs nothing" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, retired: maybe}
          """, 3, "agencies[ca-lapd].retired", "'maybe' is not true or false" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_recipients:
                - us-ice
              citation: "x"
          """, 8, "rules[r1].deny_recipients", "unknown agency 'us-ice'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners:
                - ca-lapdd
              deny_purposes: [other]
              citation: "x"
          """, 7, "rules[r1].owners", "unknown agency 'ca-lapdd'" },
        // Duplicate ids.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
            - {id: ca-lapd, state: CA, level: county}
          """, 5, "agencies[].id", "duplicate agency id 'ca-lapd'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {id: k1, owners: [ca-lapd], recipients: [ca-lasd], access: [search], purposes: [warrant]}
            - {id: k2, owners: [ca-lapd], recipients: [ca-lasd], access: [push], purposes: [warrant]}
            - {id: k1, owners: [ca-lasd], recipients: [ca-lapd], access: [search], purposes: [warrant]}
          """, 8, "agreements[k1].id", "duplicate id 'k1'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {id: la-values, owners: [ca-lapd], recipients: [ca-lasd], access: [search], purposes: [warrant]}
          rules:
            - id: la-values
              owners: [ca-lapd]
              deny_purposes: [immigration_enforcement]
              citation: "Los Angeles Administrative Code Ch. 4.1"
          """, 8, "rules[la-values].id", "duplicate id 'la-values' (agreement and rule ids share one namespace)" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - {id: r1, owners: [ca-lapd], deny_purposes: [other], citation: "a"}
            - {id: r1, owners: [ca-lapd], deny_purposes: [warrant], citation: "b"}
          """, 6, "rules[r1].id", "duplicate id 'r1'" },
        // Bad durations.
        { """
          version: 1
          default_retention: 30days
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          """, 2, "default_retention", "'30days' is not a duration such as 30d, 12h or 5m" },
        { """
          version: 1
          default_retention: 0d
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          """, 2, "default_retention", "'0d' is not a duration" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - id: ca-lasd
              state: CA
              level: county
              retention: 2 years
          """, 7, "agencies[ca-lasd].retention", "'2 years' is not a duration" },
        { """
          version: 1
          agencies:
            - {id: tx-hpd, state: TX, level: local, retention: -5d}
          """, 3, "agencies[tx-hpd].retention", "'-5d' is not a duration" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          search:
            require_case_number: true
            max_window: forever
          """, 6, "search.max_window", "'forever' is not a duration" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          search:
            max_clock_skew: 5 minutes
          """, 5, "search.max_clock_skew", "'5 minutes' is not a duration" },
        // An agency window longer than its state's statute cap.
        { """
          version: 1
          agencies:
            - {id: wa-spd, state: WA, level: local, retention: 30d}
          """, 3, "agencies[wa-spd].retention",
          "30d is longer than the statute cap of 21d (WA.RETENTION, Wash. SB 6002 (2026)); " +
          "an agency may only choose a shorter window" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - id: nh-manchester
              state: NH
              level: local
              retention: 1h
          """, 7, "agencies[nh-manchester].retention",
          "1h is longer than the statute cap of 3m (NH.RETENTION, N.H. RSA 261:75-b)" },
        { """
          version: 1
          agencies:
            - {id: nh-manchester, state: NH, level: local, retention: 181s}
          """, 3, "agencies[nh-manchester].retention", "181s is longer than the statute cap of 3m (NH.RETENTION" },
        { """
          version: 1
          agencies:
            - {id: ar-walmart, state: AR, level: private, retention: 90d}
          """, 3, "agencies[ar-walmart].retention",
          "90d is longer than the statute cap of 60d (AR.RETENTION, Ark. Code §12-12-1804)" },
        { """
          version: 1
          agencies:
            - {id: ar-lrpd, state: AR, level: local, retention: 151d}
          """, 3, "agencies[ar-lrpd].retention", "151d is longer than the statute cap of 150d (AR.RETENTION" },
        { """
          version: 1
          agencies:
            - {id: ga-apd, state: GA, level: local, retention: 901d}
          """, 3, "agencies[ga-apd].retention", "901d is longer than the statute cap of 900d (GA.RETENTION" },
        // Unknown purpose and access (the line of the list item).
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: [search]
              purposes:
                - warrant
                - abortion
          """, 12, "agreements[k1].purposes", "unknown purpose 'abortion'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: [search, read]
              purposes: [warrant]
          """, 9, "agreements[k1].access", "unknown access 'read' (push, search, alert)" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_purposes: [Immigration_Enforcement]
              citation: "x"
          """, 7, "rules[r1].deny_purposes", "unknown purpose 'Immigration_Enforcement'" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_access: [query]
              citation: "x"
          """, 7, "rules[r1].deny_access", "unknown access 'query'" },
        // Key references that do not resolve (the line of the key's value).
        { $$"""
          version: 1
          agencies:
            - id: ca-lapd
              state: CA
              level: local
              key: env:{{UnsetVariable}}
          """, 6, "agencies[ca-lapd].key", $"environment variable {UnsetVariable} is not set" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, key: file:keys/sg-no-such-file.key}
          """, 3, "agencies[ca-lapd].key", "sg-no-such-file.key does not exist" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, key: vault:secret/lapd}
          """, 3, "agencies[ca-lapd].key", "'vault:secret/lapd' is not env:NAME or file:PATH" },
        // Empty lists, unknown members.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: []
              recipients: [ca-lasd]
              access: [search]
              purposes: [warrant]
          """, 7, "agreements[k1].owners", "must not be empty" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: []
              purposes: [warrant]
          """, 9, "agreements[k1].access", "must not be empty" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: [search]
          """, 6, "agreements[k1].purposes", "required" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: [search]
              purpose: [warrant]
          """, 10, "agreements[].purpose", "unknown member" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              allow_purposes: [warrant]
              citation: "x"
          """, 7, "rules[].allow_purposes", "unknown member" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, retain: 30d}
          """, 3, "agencies[].retain", "unknown member" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          sharing: national
          """, 4, "sharing", "unknown section" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          "": national
          """, 4, "(empty key)", "unknown section" }, // found by the fuzzer: the message named no field
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local, "": x}
          """, 3, "agencies[].(empty key)", "unknown member" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          agreements:
            - {id: a1, " ": x}
          """, 5, "agreements[].(empty key)", "unknown member" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          search: {"": true}
          """, 4, "search.(empty key)", "unknown setting" },
        // Rules: at least one deny_* condition, and a citation.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              citation: "Los Angeles Administrative Code Ch. 4.1"
          """, 5, "rules[r1]", "a rule needs at least one of deny_purposes, deny_recipients, deny_access" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_recipients: []
              citation: "x"
          """, 5, "rules[r1]", "a rule needs at least one of deny_purposes, deny_recipients, deny_access" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_purposes: [immigration_enforcement]
          """, 5, "rules[r1].citation", "required" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
          rules:
            - id: r1
              owners: [ca-lapd]
              deny_purposes: [immigration_enforcement]
              citation: "   "
          """, 5, "rules[r1].citation", "required: the local law or policy the rule enforces" },
        // Bad expiry values.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - id: k1
              owners: [ca-lapd]
              recipients: [ca-lasd]
              access: [search]
              purposes: [warrant]
              expires: 2027-02-30
          """, 11, "agreements[k1].expires", "'2027-02-30' is not a date (2027-06-30) or an RFC 3339 timestamp" },
        { $$"""
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {{K1UpToExpiry}}, expires: next year}
          """, 6, "agreements[k1].expires", "'next year' is not a date" },
        { $$"""
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {{K1UpToExpiry}}, expires: "2027-06-30T25:00:00Z"}
          """, 6, "agreements[k1].expires", "'2027-06-30T25:00:00Z' is not a date" },
        { $$"""
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {{K1UpToExpiry}}, expires: 30/06/2027}
          """, 6, "agreements[k1].expires", "'30/06/2027' is not a date" },
        // Agency facts.
        { """
          version: 1
          agencies:
            - {id: ca-lapd, level: local}
          """, 3, "agencies[ca-lapd].state", "required for every agency that is not federal" },
        { """
          version: 1
          agencies:
            - {id: us-ice-ero, state: DC, level: federal}
          """, 3, "agencies[us-ice-ero].state", "federal agencies have no state" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: city}
          """, 3, "agencies[ca-lapd].level", "'city' is not one of local, county, state, federal, tribal, private" },
        { """
          version: 1
          agencies:
            - {id: CA-LAPD, state: CA, level: local}
          """, 3, "agencies[].id", "'CA-LAPD' must be 1-64 characters of [a-z0-9-]" },
        { """
          version: 1
          agencies:
            - {id: ca-lapd, state: CA, level: local}
            - {id: ca-lasd, state: CA, level: county}
          agreements:
            - {id: k1, owners: [ca-lapd], recipients: [ca-lasd, ca-lasd], access: [search], purposes: [warrant]}
          """, 6, "agreements[k1].recipients", "'ca-lasd' is listed twice" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void AnInvalidPolicyIsRejectedNamingFileLineAndField(string yaml, int line, string field, string message)
    {
        PolicyException e = Reject(yaml);
        Assert.Equal(field, e.Field);
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"test.yaml:{line}: {field}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, TimeSpan> AcceptedRetentions => new()
    {
        { "WA", "local", TimeSpan.FromDays(21) },           // equal to the cap is allowed
        { "WA", "local", TimeSpan.FromDays(7) },
        { "NH", "local", TimeSpan.FromMinutes(3) },
        { "NH", "state", TimeSpan.FromSeconds(90) },
        { "AR", "local", TimeSpan.FromDays(90) },           // Arkansas government: 150 days
        { "AR", "county", TimeSpan.FromDays(150) },
        { "AR", "private", TimeSpan.FromDays(60) },
        { "GA", "state", TimeSpan.FromDays(900) },
        { "CA", "local", TimeSpan.FromDays(730) },          // no statewide cap
        { "TX", "private", TimeSpan.FromDays(3650) },
    };

    [Theory]
    [MemberData(nameof(AcceptedRetentions))]
    public void AnAgencyWindowUpToItsStatuteCapIsAccepted(string state, string level, TimeSpan retention)
    {
        PolicyDocument doc = Load($$"""
            version: 1
            agencies:
              - {id: agency, state: {{state}}, level: {{level}}, retention: {{Durations.Format(retention)}}}
            """);
        Assert.Equal(retention, doc.Agencies.Single().Retention);
    }

    [Fact]
    public void AFederalAgencyHasNoCapAndMayKeepAnyWindow()
    {
        PolicyDocument doc = Load("""
            version: 1
            agencies:
              - {id: us-fbi, level: federal, retention: 3650d}
            """);
        Assert.Equal(TimeSpan.FromDays(3650), doc.Agencies.Single().Retention);
    }

    [Fact]
    public void KeyReferencesResolveFromTheEnvironmentAndFromFilesRelativeToThePolicy()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sg-validation-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "keys"));
        const string Variable = "SG_TEST_POLICY_VALIDATION_KEY_51C2";
        try
        {
            File.WriteAllText(Path.Combine(dir, "keys", "lapd.key"), "file-secret\n");
            Environment.SetEnvironmentVariable(Variable, "env-secret");
            PolicyDocument doc = Load($$"""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: file:keys/lapd.key}
                  - {id: ca-lasd, state: CA, level: county, key: env:{{Variable}}}
                """, dir);
            Assert.Equal("file-secret"u8.ToArray(), doc.Agencies[0].Key);
            Assert.Equal("env-secret"u8.ToArray(), doc.Agencies[1].Key);
            Assert.Equal("file:keys/lapd.key", doc.Agencies[0].KeyRef);

            // The same file, named from another directory, does not resolve.
            PolicyException e = Reject("""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: file:keys/lapd.key}
                """);
            Assert.Equal("agencies[ca-lapd].key", e.Field);
            Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, null);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnEmptyKeyFileIsRejected()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sg-validation-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "empty.key"), "\n");
            var e = Assert.Throws<PolicyException>(() => Load("""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: file:empty.key}
                """, dir));
            Assert.Equal("agencies[ca-lapd].key", e.Field);
            Assert.Equal(3, e.Line);
            Assert.Contains("is empty", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// A key file is read as text, as it always was (a key in use must keep its bytes across an upgrade, or the audit
    /// chains and the signatures made under it break): decoded by its byte-order mark, less its trailing line breaks;
    /// one that holds nothing but line breaks or blanks is no key.
    /// </summary>
    [Fact]
    public void AKeyFileIsReadAsTextLessItsTrailingLineBreaks()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sg-validation-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            byte[] binary = [0x80, (byte)'a', (byte)'b', (byte)'c', 0xFF];
            File.WriteAllBytes(Path.Combine(dir, "binary.key"), binary);
            File.WriteAllBytes(Path.Combine(dir, "bom.key"), [0xEF, 0xBB, 0xBF, .. "k1"u8, (byte)'\r', (byte)'\n']);
            File.WriteAllBytes(Path.Combine(dir, "two.key"), [.. "k2"u8, (byte)'\n', (byte)'\n']);
            File.WriteAllBytes(Path.Combine(dir, "utf16.key"), [0xFF, 0xFE, (byte)'k', 0, (byte)'3', 0, 13, 0, 10, 0]);
            PolicyDocument doc = Load("""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: file:binary.key}
                  - {id: ca-lasd, state: CA, level: county, key: file:bom.key}
                  - {id: ca-chp, state: CA, level: state, key: file:two.key}
                  - {id: ca-pasadena-pd, state: CA, level: local, key: file:utf16.key}
                """, dir);
            Assert.Equal([0xEF, 0xBF, 0xBD, .. "abc"u8, 0xEF, 0xBF, 0xBD], doc.Agencies[0].Key!);
            Assert.Equal("k1"u8.ToArray(), doc.Agencies[1].Key!);
            Assert.Equal("k2"u8.ToArray(), doc.Agencies[2].Key!);
            Assert.Equal("k3"u8.ToArray(), doc.Agencies[3].Key!);
            foreach (byte[] blank in (byte[][])[[10, 10], [13, 10, 13, 10], [32, 9, 10]])
            {
                File.WriteAllBytes(Path.Combine(dir, "blank.key"), blank);
                var e = Assert.Throws<PolicyException>(() => Load("""
                    version: 1
                    agencies:
                      - {id: ca-lapd, state: CA, level: local, key: file:blank.key}
                    """, dir));
                Assert.Contains("is empty", e.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// A key reference to something that is no key file (a device that never ends, a file of megabytes) is refused
    /// by its size, not read into memory until the process dies.
    /// </summary>
    [Fact]
    public void AKeyFileLargerThanAnyKeyIsRefused()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sg-validation-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "big.key"), new byte[PolicyLoader.MaxKeyFileBytes + 1]);
            File.WriteAllBytes(Path.Combine(dir, "edge.key"), [.. new byte[PolicyLoader.MaxKeyFileBytes - 1], 10]);
            Assert.Equal(PolicyLoader.MaxKeyFileBytes - 1, Load("""
                version: 1
                agencies:
                  - {id: ca-lapd, state: CA, level: local, key: file:edge.key}
                """, dir).Agencies[0].Key!.Length);
            foreach (string file in (string[])["big.key", "/dev/zero"])
            {
                var e = Assert.Throws<PolicyException>(() => Load($$"""
                    version: 1
                    agencies:
                      - {id: ca-lapd, state: CA, level: local, key: file:{{file}}}
                    """, dir));
                Assert.Equal("agencies[ca-lapd].key", e.Field);
                Assert.Contains($"more than {PolicyLoader.MaxKeyFileBytes:N0} bytes", e.Message,
                    StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// A file nested deeper than any policy is refused before YAML's node tree is built: it is built recursively, so
    /// a hostile file (<c>[[[[…</c>) would overflow the stack of the thread reading it — a running worker's reload.
    /// </summary>
    [Theory]
    [InlineData(PolicyLoader.MaxDepth + 1)]
    [InlineData(100_000)]
    public void AFileNestedDeeperThanAnyPolicyIsRefusedWithoutOverflowingTheStack(int depth)
    {
        byte[] yaml = Encoding.UTF8.GetBytes("version: 1\nagencies: " + new string('[', depth) + new string(']', depth)
            + "\n");
        PolicyException? refused = null;
        // A thread with a small stack, as a thread-pool thread's: the depth check itself must not recurse.
        var thread = new Thread(() =>
        {
            refused = Assert.Throws<PolicyException>(() => PolicyLoader.Load(yaml, "deep.yaml", "."));
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        Assert.NotNull(refused);
        Assert.Equal(("deep.yaml", 2, "yaml"), (refused.File, refused.Line, refused.Field));
        Assert.Contains($"nested deeper than {PolicyLoader.MaxDepth} levels", refused.Message,
            StringComparison.Ordinal);
    }

    /// <summary>
    /// An alias adds depth without adding events: one of its own collection (a cycle) or a chain of them would
    /// overflow the tree's recursion all the same. Aliases of collections are refused (a policy needs none);
    /// aliases of scalars still work.
    /// </summary>
    [Fact]
    public void AnAliasOfACollectionIsRefusedWithoutOverflowingTheStackAndOneOfAScalarIsAccepted()
    {
        foreach (var (yaml, why) in new[]
        {
            ("version: 1\n? &a [*a]\n: 1\n", "an alias of a collection"),
            ("version: 1\nagencies: &a [{id: ca-lapd, state: CA, level: local}]\nx: *a\n", "an alias of a collection"),
            ("? *a\n: 1\na: &a b\n", "an alias before its anchor"),
            ("version: \"1\"\nagencies:\n  - ? *x\n    : 1\n    name: &x foo\n", "an alias before its anchor"),
            ("version: 1\nagencies: *x\nother: &x [1]\n", "an alias before its anchor"),
            ("a: &a b\n? *a\n: 1\n", "an alias as a mapping key"),
        })
        {
            PolicyException? refused = null;
            var thread = new Thread(() => refused = Assert.Throws<PolicyException>(
                () => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "alias.yaml", ".")), 256 * 1024);
            thread.Start();
            thread.Join();
            Assert.NotNull(refused);
            Assert.Equal("yaml", refused.Field);
            Assert.Contains($": {why} (a policy needs none", refused.Message, StringComparison.Ordinal);
        }
        PolicyDocument doc = Load("""
            version: 1
            default_retention: &window 30d
            agencies:
              - {id: tx-hpd, state: TX, level: local, retention: *window}
            """);
        Assert.Equal(TimeSpan.FromDays(30), doc.Agencies[0].Retention);
    }

    /// <summary>The last day there is: the agreement holds through it, not an overflow.</summary>
    [Fact]
    public void AnAgreementExpiringOnTheLastDayOfTheCalendarHoldsThroughIt()
    {
        PolicyDocument doc = Load("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
            agreements:
              - {id: k1, owners: [ca-lapd], recipients: [ca-lasd], access: [search], purposes: [warrant],
                 expires: 9999-12-31}
            """);
        Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), doc.Agreements[0].ExpiresAtMs);
    }

    private const string ExpiredYaml = """
        version: 1
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: ca-lasd, state: CA, level: county}
        agreements:
          - id: socal-2025
            owners: [ca-lapd]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle]
            expires: 2026-01-31
          - id: socal-2027
            owners: [ca-lapd]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle]
            expires: 2027-06-30
        """;

    [Fact]
    public void AnExpiredAgreementIsAWarningNotAnError()
    {
        PolicyDocument doc = Load(ExpiredYaml);
        var policy = new CompiledPolicy(doc);
        long now = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(policy, now);
        string expired = Assert.Single(warnings, w => w.Contains("expired", StringComparison.Ordinal));
        Assert.Equal("test.yaml:6: agreements[socal-2025].expires: expired on 2026-01-31; " +
            "it grants nothing (deny.agreement_expired)", expired);
        Assert.DoesNotContain(warnings, w => w.Contains("socal-2027", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAgreementExpiresForTheWarningsAtTheSameInstantAsForDecisions()
    {
        var policy = new CompiledPolicy(Load(ExpiredYaml));
        long lastDay = new DateTimeOffset(2027, 6, 30, 23, 59, 59, 999, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Assert.DoesNotContain(PolicyCheck.Warnings(policy, lastDay),
            w => w.Contains("socal-2027", StringComparison.Ordinal));
        Assert.Contains(PolicyCheck.Warnings(policy, lastDay + 1),
            w => w.Contains("agreements[socal-2027].expires: expired on 2027-06-30", StringComparison.Ordinal));
        Assert.Empty(PolicyCheck.Warnings(policy,
            new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void AnEmptyAgreementsOrRulesSectionIsAccepted()
    {
        PolicyDocument doc = Load("""
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
            agreements:
            rules: []
            """);
        Assert.Empty(doc.Agreements);
        Assert.Empty(doc.Rules);
    }
}
