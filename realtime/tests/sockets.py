"""Small async helpers the socket tests share."""

from channels.testing import WebsocketCommunicator

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


async def open_socket(app, path: str, *, headers=(ORIGIN, HOST)) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, path, headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected, f"{path} refused the handshake"
    return communicator


async def hello(communicator, device, token) -> dict:
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token}
    )
    return await communicator.receive_json_from(timeout=5)


async def open_device(app, device, token, **kwargs) -> WebsocketCommunicator:
    communicator = await open_socket(app, "/ws/device/", **kwargs)
    welcome = await hello(communicator, device, token)
    assert welcome["type"] == "welcome", welcome
    return communicator


async def closed_with(communicator) -> int:
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def next_event(communicator, kind: str, *, timeout: float = 5) -> dict:
    """The next JSON event of type `kind`, skipping others (a code rotation, say)."""
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        if event["type"] == kind:
            return event


async def next_fragment(communicator, start: str, *, timeout: float = 5) -> str:
    """The next HTML fragment that starts with `start`, skipping others."""
    while True:
        html = await communicator.receive_from(timeout=timeout)
        if html.startswith(start):
            return html
