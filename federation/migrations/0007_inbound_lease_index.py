from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('federation', '0006_inbound_claim_index')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='InboundMessage',
            index=Index(fields=['state', 'lease_until']),
        ),
    ]
