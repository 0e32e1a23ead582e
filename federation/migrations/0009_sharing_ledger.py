from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('federation', '0008_remote_credentials')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SharedItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=2048)),
                ('kind', fields.CharField(max_length=16)),
                ('subject', fields.CharField(max_length=2048)),
                ('activity_type', fields.CharField(max_length=32)),
                ('host', fields.CharField(max_length=255)),
                ('inbox', fields.CharField(max_length=2048)),
                ('shared_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'shared_item', 'app': 'federation', 'indexes': [Index(fields=['owner', 'id'])], 'pk_attr': 'id', 'table_description': "One delivery of a member's own content to another server: the sharing ledger a member"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Delivery',
            name='activity_type',
            field=fields.CharField(default='', max_length=32),
        ),
        ops.AddField(
            model_name='Delivery',
            name='kind',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='Delivery',
            name='owner',
            field=fields.CharField(default='', max_length=2048),
        ),
        ops.AddField(
            model_name='Delivery',
            name='subject',
            field=fields.CharField(default='', max_length=2048),
        ),
    ]
