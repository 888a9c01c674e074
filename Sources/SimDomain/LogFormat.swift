/// How platform log lines are written: CloudWatch's text lines or its JSON records.
package enum LogFormat: String, Sendable, CaseIterable {
    /// `START RequestId: …`, `REPORT RequestId: …` tab-separated lines.
    case text
    /// `{"time":…,"type":"platform.start","record":{…}}` records, as the Telemetry API shapes them.
    case json

    /// The value of `AWS_LAMBDA_LOG_FORMAT` runtimes see.
    package var environmentValue: String { self == .json ? "JSON" : "Text" }
}
