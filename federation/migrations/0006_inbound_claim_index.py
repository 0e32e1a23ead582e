from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('federation', '0005_delivery_scope')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='InboundMessage',
            index=Index(fields=['state', 'id']),
        ),
    ]
