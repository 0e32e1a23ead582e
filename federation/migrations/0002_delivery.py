from tortoise import migrations
from tortoise.migrations import operations as ops
from federation.models import DeliveryState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('federation', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(db_index=True, max_length=2048)),
                ('inbox', fields.CharField(max_length=2048)),
                ('host', fields.CharField(db_index=True, max_length=255)),
                ('signer', fields.CharField(max_length=2048)),
                ('body', fields.TextField(unique=False)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nDELIVERED: delivered\nDEAD: dead', enum_type=DeliveryState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'federation', 'unique_together': (('activity_id', 'inbox'),), 'pk_attr': 'id', 'table_description': 'One activity to POST to one inbox, written in the transaction of the change it reports.'},
            bases=['Model'],
        ),
    ]
