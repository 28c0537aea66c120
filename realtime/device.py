"""The /ws/device/ socket (see DESIGN §4)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class DeviceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.close(code=4401)
