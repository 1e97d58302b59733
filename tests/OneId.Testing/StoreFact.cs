using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace OneId.Testing;

/// <summary>
/// Marks a test class whose store is Citus: its <see cref="StoreFactAttribute"/> tests are skipped, with the reason,
/// when Citus is not installed, instead of failing or passing silently.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresCitusAttribute : Attribute;

/// <summary>
/// A fact of a suite written once and run against every store. It runs like <see cref="FactAttribute"/>, except in a
/// class marked <see cref="RequiresCitusAttribute"/> on a machine without Citus, where it is skipped with the reason.
/// </summary>
[XunitTestCaseDiscoverer("OneId.Testing.StoreFactDiscoverer", "OneId.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new StoreTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}

public sealed class StoreTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public StoreTestCase()
    {
    }

    public StoreTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod)
        : base(diagnosticMessageSink, display, options, testMethod)
    {
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) =>
        base.GetSkipReason(factAttribute)
        ?? (TestMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresCitusAttribute).AssemblyQualifiedName).Any() ? CitusCluster.MissingReason : null)!;
}
