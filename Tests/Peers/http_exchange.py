"""One HTTP exchange with a local server, for the test peers: the response's status, or how the
connection failed (a server that closes on a hostile request is an answer, not an error)."""
import http.client


def exchange(port, send_request, timeout=30):
    """The status of the response to what `send_request(connection)` sends, or how it failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        send_request(connection)
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionError, http.client.HTTPException) as error:
        return f"connection: {error.__class__.__name__}"
    finally:
        connection.close()
