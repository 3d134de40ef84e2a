import Testing
import SluiceTesting

@testable import SluiceCore

/// Whether `expression` holds for the event encoded from `line`.
private func holds(_ expression: String, _ line: String, format: InputFormat = .auto) throws -> Bool {
    let parsed = try ExpressionParser.parse(expression)
    var encoder = EventEncoder(format: format, metadata: EventMetadata(host: "h", sourceName: "app", labels: [("service", "checkout")]))
    var builder = EventBatchBuilder()
    Array(line.utf8).withUnsafeBytes { encoder.encode(FramedLine(bytes: $0), into: &builder) }
    let batch = EventBatch(sourceIndex: 0, builder: builder)
    let matcher = EventMatcher([parsed])
    matcher.load(batch[0])
    return matcher.matches(0)
}

@Suite(.timeLimit(.minutes(10)), .watchdog) struct ExpressionTests {
    let event = #"{"level":"ERROR","msg":"upstream timeout","status":503,"dur":12.5,"ok":false,"ctx":{"region":"eu-west-1","user":{"id":42}},"tags":["a"],"note":null,"quote":"say \"hi\""}"#

    @Test func comparisonsOnNumbersStringsBooleansAndNull() throws {
        #expect(try holds("status == 503", event))
        #expect(try holds("status >= 500 and status < 600", event))
        #expect(try holds("dur > 12 and dur <= 12.5", event))
        #expect(try holds(#"msg == "upstream timeout""#, event))
        #expect(try holds(#"msg != "other""#, event))
        #expect(try holds("ok == false", event))
        #expect(try holds("note == null", event))
        #expect(try holds("missing == null", event))
        #expect(try holds(#"quote == "say \"hi\"""#, event))
        #expect(try !holds("status == 200", event))
        #expect(try !holds(#"status == "x""#, event))
    }

    @Test func levelsCompareInTheirOrderWhateverTheSpelling() throws {
        #expect(try holds("level >= error", event))
        #expect(try holds("level > warn", event))
        #expect(try !holds("level == fatal", event))
        #expect(try holds(#"level == "err""#, event))
        #expect(try holds("level >= warn", #"{"lvl":"WARNING"}"#))
        #expect(try holds("level == error", "2024-06-01 ERROR boom"))
        #expect(try !holds("level >= info", "no level here"))
        #expect(try holds("level != info", "no level here"))
    }

    @Test func dottedPathsReachIntoNestedObjects() throws {
        #expect(try holds(#"ctx.region == "eu-west-1""#, event))
        #expect(try holds("ctx.user.id == 42", event))
        #expect(try !holds("ctx.user.name == 42", event))
        #expect(try holds("exists(ctx.user)", event))
        #expect(try !holds("exists(ctx.nothing)", event))
        #expect(try !holds("exists(note)", event))
        #expect(try holds("exists(service)", event), "labels are fields")
    }

    @Test func keysOfOneLengthAndVeryLongKeysAreToldApart() throws {
        let long = String(repeating: "k", count: 70)
        let longer = long + "x"
        let line = #"{"sva":1,"svc":"a","svd":3,"\#(longer)":"no","\#(long)":"yes","svc":"second"}"#
        #expect(try holds(#"svc == "a""#, line), "the first of two equal keys counts")
        #expect(try holds("sva == 1 and svd == 3", line))
        #expect(try holds(#"\#(long) == "yes" and \#(longer) == "no""#, line))
        #expect(try !holds("exists(sv)", line))
    }

    @Test func regexMatchesWithFlagsAndPrefilters() throws {
        #expect(try holds("msg =~ /time(out)?/", event))
        #expect(try holds("msg =~ /TIMEOUT/i", event))
        #expect(try !holds("msg =~ /^timeout/", event))
        #expect(try holds("msg !~ /refused/", event))
        #expect(try holds(#"status =~ /^5\d\d$/"#, event))
        #expect(try holds("missing !~ /x/", event))
        #expect(try holds(#"ctx.region =~ /eu-\w+-1/"#, event))
        #expect(RegexPrefilter.requiredLiteral(in: "upstream (a|b)+ timeout", options: []) == Array("upstream ".utf8))
        #expect(RegexPrefilter.requiredLiteral(in: "a|b", options: []) == nil)
        #expect(RegexPrefilter.requiredLiteral(in: "colou?r", options: []) == Array("colo".utf8))
        #expect(RegexPrefilter.requiredLiteral(in: "timeout", options: .caseInsensitive) == nil)
    }

    @Test func booleanOperatorsAndPrecedence() throws {
        #expect(try holds("status == 1 or status == 503 and ok == false", event))
        #expect(try !holds("(status == 1 or status == 503) and ok == true", event))
        #expect(try holds("not ok == true", event))
        #expect(try holds("!(status < 500) && dur > 1 || false_field == 1", event))
        #expect(try ExpressionParser.parse("a == 1 or b == 2 and c == 3").description == "(a == 1 or (b == 2 and c == 3))")
    }

    @Test func logfmtStringsCompareAsNumbers() throws {
        #expect(try holds("status >= 500", "status=503 msg=x", format: .logfmt))
        #expect(try holds("level >= warn", "level=warning msg=x", format: .logfmt))
    }

    @Test(arguments: [
        ("level >= errr", 10, "errr is not a value"),
        ("service == checkout", 12, "checkout is not a value"),
        ("status = 5", 8, "a single = is not an operator"),
        ("(level >= error", 16, "expected ) to close the ( at column 1"),
        (#"msg =~ "x""#, 8, "expected a regular expression"),
        ("msg =~ /(/", 8, "missing closing parenthesis"),
        ("msg =~ /x/q", 8, "unknown regex flag q"),
        ("status >", 9, "expected a value after >"),
        ("", 1, "expected a condition"),
        ("exists(status) extra", 16, "unexpected"),
        (#"msg == "open"#, 8, "unterminated string"),
    ])
    func errorsNameTheColumn(_ text: String, _ column: Int, _ fragment: String) {
        do {
            _ = try ExpressionParser.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.column == column, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test func deepNestingIsRefusedNotRecursedForever() {
        let deep = String(repeating: "(", count: 10_000) + "a == 1" + String(repeating: ")", count: 10_000)
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse(deep) }
    }
}
