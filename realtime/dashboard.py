"""The /ws/dashboard/ socket (see DESIGN §4)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.close(code=4401)
