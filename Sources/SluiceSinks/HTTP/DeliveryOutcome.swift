/// What one HTTP attempt came to, as a delivery format reads the response.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Every item was accepted.
    case accepted
    /// Some items failed: per item, in request order.
    case perItem([ItemResult])
    /// The whole request should be sent again later: 429, 5xx, a timeout, a lost connection.
    case retryable(String)
    /// 413: the request is too large; send it in halves.
    case tooLarge
    /// 401/403: credentials are missing or wrong; retrying soon will not help.
    case unauthorized(String)
    /// The whole request was rejected and resending it cannot succeed (another 4xx), with the
    /// status and reason the server gave.
    case rejected(status: Int, reason: String)
    /// The server took the request but rejected `count` of its items without saying which
    /// (OTLP's `partial_success`): counted as `rejected`, never retried; nothing to dead-letter.
    case partiallyRejected(count: Int, reason: String)

    public enum ItemResult: Sendable, Equatable {
        case accepted
        /// 409 to a `create`: a document with the item's id exists already (Sluice's own earlier
        /// write whose answer was lost, or another writer's: the two look the same).
        case alreadyPresent
        /// 429 or 5xx for this item alone.
        case retry(String)
        /// 400, 404 and other item errors: written to the dead-letter file.
        case rejected(status: Int, reason: String)
    }
}
