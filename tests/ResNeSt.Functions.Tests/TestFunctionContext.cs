using Microsoft.Azure.Functions.Worker;

namespace ResNeSt.Functions.Tests;

/// <summary>The part of the runtime's invocation context the functions read: an invocation id.</summary>
internal sealed class TestFunctionContext(string invocationId, IServiceProvider services) : FunctionContext
{
    public override string InvocationId { get; } = invocationId;
    public override string FunctionId => "test";
    public override TraceContext TraceContext => throw new NotSupportedException();
    public override BindingContext BindingContext => throw new NotSupportedException();
    public override RetryContext RetryContext => throw new NotSupportedException();
    public override IServiceProvider InstanceServices { get; set; } = services;
    public override FunctionDefinition FunctionDefinition => throw new NotSupportedException();
    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
    public override Microsoft.Azure.Functions.Worker.IInvocationFeatures Features => throw new NotSupportedException();
}
