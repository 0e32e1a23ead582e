from tortoise import migrations
from tortoise.migrations import operations as ops
from node.members.models import Verification, VerificationMethod
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0009_listing_search')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='verification',
            field=fields.CharEnumField(default=Verification.UNVERIFIED, db_index=True, description='UNVERIFIED: unverified\nVOUCHED: vouched\nVERIFIED: verified', enum_type=Verification, max_length=16),
        ),
        ops.AddField(
            model_name='Member',
            name='verification_method',
            field=fields.CharEnumField(null=True, description='DOCUMENT: document\nVOUCHING: vouching\nMANAGER: manager', enum_type=VerificationMethod, max_length=16),
        ),
        ops.AddField(
            model_name='Member',
            name='verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='verified_by',
            field=fields.ForeignKeyField('node.Member', source_field='verified_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
