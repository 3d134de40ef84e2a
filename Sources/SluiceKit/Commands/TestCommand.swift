import ArgumentParser
import SluiceComponentConfig
import SluiceConfig
import SluiceCore

/// `sluice test [--config FILE]... CASES`: configuration unit tests. Exits 0 when every case
/// passes, 1 when one fails, 78 when the configuration or the cases file is invalid.
struct TestCommand: ConfigurationCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run configuration unit tests: sample lines and the events, sinks and alerts they must give."
    )

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: ArgumentHelp("A YAML file of test cases (see README).", valueName: "cases"))
    var cases: String

    func run(with registry: ComponentRegistry) throws {
        var standardError = StandardError()
        let environment = ProcessEnvironment.current
        let configuration = try options.loadOrExit(registry: registry, environment: environment)
        let context = ConfigContext(environment: environment)
        let tests: [ConfigurationTest]
        switch YAMLLoader.load(file: cases) {
        case .success(let node):
            tests = ConfigurationTest.cases(reading: ConfigReader(root: node, context: context))
        case .failure(let issue):
            context.report(issue)
            tests = []
        }
        do {
            try context.validate()
        } catch {
            print(error.description.replacing("invalid configuration", with: "invalid test file"), to: &standardError)
            throw ExitCode(exitConfigurationError)
        }
        let runner = try ConfigurationTestRunner(configuration: configuration)
        var failed = 0
        for test in tests {
            let problems = runner.run(test)
            if problems.isEmpty {
                print("ok    \(test.name)")
            } else {
                failed += 1
                print("FAIL  \(test.name)")
                for problem in problems { print("      \(problem)") }
            }
        }
        print("\(tests.count) \(tests.count == 1 ? "test" : "tests"), \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
