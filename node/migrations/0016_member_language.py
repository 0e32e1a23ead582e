from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0015_circles_notices_problems')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='language',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
    ]
