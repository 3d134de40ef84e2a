/// The version `sluice --version` prints. Raised with each release of the repository's `main`
/// (0.3: the third round of work: wrap mode as deployed, hostile input, the sink contract).
public enum SluiceVersion {
    public static let current = "0.3.0"
}
