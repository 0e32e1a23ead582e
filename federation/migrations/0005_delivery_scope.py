from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('federation', '0004_inbound_lease')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Delivery',
            name='partners_only',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['state', 'attempts', 'id']),
        ),
    ]
